/**
 * Applies the rules of auth.ts to a request before any route reads its body
 * or calls the agent: a refused request changes nothing. Order: Host, then
 * token, then Content-Type (the server takes the client's request rate
 * between the last two: http-server.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import type * as http from 'node:http';
import { ErrorCode } from '../util/errors.js';
import { AclLimits, sha256, type AclTokenCache } from './acl-tokens.js';
import { bearerToken, isJsonContentType, isLoopbackHostHeader, isLoopbackListen, needsJsonContentType, requiredScope, scopeAllows, type Scope } from './auth.js';
import { HttpError } from './config-http.js';

export interface RequestGuardOptions {
  /** The host the API listens on: loopback turns the Host check on. */
  listenHost: string;
  /** The management token; absent: no token is asked for (loopback-only use). */
  managementToken?: string;
  /** The stored tokens (absent without a control plane: only the management token works). */
  tokens?: AclTokenCache;
}

/** Who a request was let in as. */
export interface Principal {
  scope: Scope;
  /** The stored token's id; '' for the management token or when no token is asked for. */
  tokenId: string;
}

export class RequestGuard {
  private readonly loopback: boolean;
  private readonly managementHash: Buffer | undefined;

  constructor(private readonly options: RequestGuardOptions) {
    this.loopback = isLoopbackListen(options.listenHost);
    this.managementHash = options.managementToken === undefined ? undefined : sha256(options.managementToken);
  }

  get authEnabled(): boolean {
    return this.managementHash !== undefined;
  }

  /** Throws the HttpError to answer when the request may not go on: Host, token, Content-Type. */
  async check(req: http.IncomingMessage, url: URL): Promise<Principal> {
    this.checkHost(req);
    const principal = await this.authorize(req.headers.authorization, req.method ?? 'GET', url.pathname);
    this.checkContentType(req);
    return principal;
  }

  /** On a loopback listener the Host header must name loopback (DNS rebinding); 403 otherwise. */
  checkHost(req: http.IncomingMessage): void {
    if (this.loopback && !isLoopbackHostHeader(req.headers.host)) {
      throw new HttpError(403, ErrorCode.Forbidden, `Host "${req.headers.host ?? ''}" is not a loopback name: this API listens on loopback only`, { field: 'host' });
    }
  }

  /** A request that must declare a JSON body and does not: 415. */
  checkContentType(req: http.IncomingMessage): void {
    if (needsJsonContentType(req) && !isJsonContentType(req.headers['content-type'])) {
      throw new HttpError(415, ErrorCode.UnsupportedMediaType, `${req.method} needs "Content-Type: application/json" (got "${req.headers['content-type'] ?? ''}")`, {
        field: 'content-type',
      });
    }
  }

  /** The token check alone (also used to re-check a long-lived watch). */
  async authorize(authorization: string | undefined, method: string, path: string): Promise<Principal> {
    if (this.managementHash === undefined) return { scope: 'manage', tokenId: '' };
    const need = requiredScope(method, path);
    const presented = bearerToken(authorization);
    if (presented === undefined) {
      const why = authorization === undefined ? 'no Authorization header' : 'the Authorization header is not "Bearer TOKEN"';
      throw new HttpError(401, ErrorCode.Unauthenticated, `${why}: this API needs a token`);
    }
    if (presented.length <= AclLimits.presentedMaxChars && timingSafeEqual(sha256(presented), this.managementHash)) {
      return { scope: 'manage', tokenId: '' };
    }
    const record = await this.options.tokens?.lookup(presented);
    if (record === undefined) throw new HttpError(401, ErrorCode.Unauthenticated, 'unknown or revoked token');
    if (!scopeAllows(record.scope, need)) {
      throw new HttpError(403, ErrorCode.Forbidden, `token ${record.id} has scope "${record.scope}"; ${method} ${path} needs "${need}"`, {
        tokenId: record.id,
        scope: record.scope,
        needs: need,
      });
    }
    return { scope: record.scope, tokenId: record.id };
  }
}
