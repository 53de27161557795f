/**
 * The agent's HTTP API: membership routes here, control routes in
 * config-routes.ts. Every request first passes the RequestGuard (Host,
 * token, Content-Type; see auth.ts); over TLS when a certificate is given.
 */
import { readFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { formatHostPort, parseHostPort, type Address } from '../util/address.js';
import type { MembershipService } from './types.js';
import { ACL_TOKENS_PREFIX, AclLimits, AclTokenCache } from './acl-tokens.js';
import { clientGone, HttpError, readJson as readJsonLimited, sendError, sendJson } from './config-http.js';
import { handleControlRoute, type RouteContext } from './config-routes.js';
import type { ControlApi } from './config-types.js';
import { RequestGuard } from './request-guard.js';
import { handleKeyringRoute, type KeyringService } from './keyring-routes.js';

const readJson = (req: http.IncomingMessage): Promise<unknown> => readJsonLimited(req, HttpApiLimits.bodyMaxBytes);

/** Limits of the HTTP API, each with its reason. */
export const HttpApiLimits = {
  /** Request bodies are tiny JSON documents; 64 KiB is plenty and bounds memory per request. */
  bodyMaxBytes: 64 * 1024,
  /** Seeds in one join request. */
  joinAddrsMax: 64,
  /** A client that sends its headers slower than this is cut off. */
  headersTimeoutMs: 10_000,
  /** The whole request including a join's wait. */
  requestTimeoutMs: 60_000,
  /** Concurrent connections; past it Node refuses new ones. */
  connectionsMax: 256,
} as const;

export interface HttpApiOptions {
  /** "host:port"; the API binds 127.0.0.1 unless told otherwise. */
  listen: Address;
  service: MembershipService;
  /** The control plane's routes (/v1/config, /v1/leases, /v1/raft); 404 without it. */
  control?: ControlApi;
  /** Called after the response to a successful POST /v1/leave has been sent (the daemon shuts down). */
  onLeft?: () => void;
  /**
   * The management token: when set, every request needs `Authorization: Bearer`
   * with it or with a stored token of enough scope (auth.ts). Absent: no token is asked for.
   */
  token?: string;
  /** PEM files of the certificate (chain) and its key: serve HTTPS instead of HTTP. */
  tls?: { certFile: string; keyFile: string };
  /** Gossip keyring rotation across the cluster (/v1/keyring, management scope). */
  keyring?: KeyringService;
}

/** Reads the certificate and key; ERR_INVALID_CONFIG naming the file that fails. */
async function loadTls(tls: { certFile: string; keyFile: string }): Promise<{ cert: Buffer; key: Buffer }> {
  const read = async (field: string, file: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (e) {
      throw new ShoalError(ErrorCode.InvalidConfig, `invalid config: ${field} "${file}" cannot be read: ${(e as Error).message}`, { cause: e, details: { field } });
    }
  };
  return { cert: await read('apiTlsCert', tls.certFile), key: await read('apiTlsKey', tls.keyFile) };
}

/** The membership HTTP API: JSON in and out, errors as {"error":{"code","message"}}. */
export class HttpApiServer {
  readonly address: Address;
  /** 'https' when serving TLS. */
  readonly scheme: 'http' | 'https';
  /** The stored tokens' cache (undefined without a control plane). */
  readonly tokens: AclTokenCache | undefined;
  private readonly server: http.Server | https.Server;

  private constructor(server: http.Server | https.Server, address: Address, scheme: 'http' | 'https', tokens: AclTokenCache | undefined) {
    this.server = server;
    this.address = address;
    this.scheme = scheme;
    this.tokens = tokens;
  }

  /** "http://host:port" or "https://host:port". */
  get url(): string {
    return `${this.scheme}://${this.address}`;
  }

  static async listen(options: HttpApiOptions): Promise<HttpApiServer> {
    const { host, port } = parseHostPort(options.listen, 7947);
    const control = options.control;
    // Requests find stored tokens in the local replica (serializable): no Raft round trip per request.
    const tokens =
      control === undefined
        ? undefined
        : new AclTokenCache(async () => (await control.range(ACL_TOKENS_PREFIX, { serializable: true, limit: AclLimits.tokensMax })).kvs);
    const guard = new RequestGuard({ listenHost: host, ...(options.token === undefined ? {} : { managementToken: options.token }), ...(tokens ? { tokens } : {}) });
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      void handle(req, res, options, guard, tokens);
    };
    let server: http.Server | https.Server;
    if (options.tls === undefined) server = http.createServer(onRequest);
    else {
      const pem = await loadTls(options.tls);
      try {
        server = https.createServer(pem, onRequest);
      } catch (e) {
        throw new ShoalError(ErrorCode.InvalidConfig, `invalid config: apiTlsCert / apiTlsKey: ${(e as Error).message}`, { cause: e, details: { field: 'apiTlsCert' } });
      }
    }
    server.headersTimeout = HttpApiLimits.headersTimeoutMs;
    server.requestTimeout = HttpApiLimits.requestTimeoutMs;
    server.maxConnections = HttpApiLimits.connectionsMax;
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(new ShoalError(ErrorCode.BindFailed, `cannot listen for HTTP on ${options.listen}: ${err.message}`, { cause: err })),
      );
      server.listen({ host, port }, () => resolve());
    });
    server.on('error', () => {
      // Accept errors (EMFILE and the like) must not crash the agent.
    });
    const bound = server.address() as AddressInfo;
    return new HttpApiServer(server, formatHostPort({ host, port: bound.port }), options.tls === undefined ? 'http' : 'https', tokens);
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    // Requests in flight get a moment to finish, then everything is cut.
    const cut = setTimeout(() => this.server.closeAllConnections(), 1_000);
    await closed;
    clearTimeout(cut);
  }
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, options: HttpApiOptions, guard: RequestGuard, tokens: AclTokenCache | undefined): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Refused requests are answered before their body is read or anything is called.
    await guard.check(req, url);
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    switch (route) {
      case 'GET /v1/members':
        return sendJson(res, 200, options.service.members());
      case 'GET /v1/health': {
        // A halted plane fails health (503), so load balancers and supervisors see it at once.
        const health = options.service.health();
        return sendJson(res, health.status === 'failed' ? 503 : 200, health);
      }
      case 'POST /v1/join': {
        const body = await readJson(req);
        const addrs = parseJoinBody(body);
        const gone = clientGone(res);
        try {
          const joined = await options.service.join(addrs, { signal: gone.signal });
          return sendJson(res, 200, { joined });
        } finally {
          gone.done();
        }
      }
      case 'POST /v1/leave': {
        await readJson(req);
        await options.service.leave();
        res.once('finish', () => options.onLeft?.());
        return sendJson(res, 200, { left: true });
      }
      default:
        if (options.keyring !== undefined && (await handleKeyringRoute(req, res, url, options.keyring))) return;
        if (options.control !== undefined) {
          const ctx: RouteContext = {
            ...(tokens === undefined ? {} : { tokens }),
            ...(guard.authEnabled ? { recheck: async () => void (await guard.authorize(req.headers.authorization, req.method ?? 'GET', url.pathname)) } : {}),
          };
          if (await handleControlRoute(req, res, url, options.control, ctx)) return;
        }
        if (['/v1/members', '/v1/health', '/v1/join', '/v1/leave'].includes(url.pathname)) {
          throw new HttpError(405, ErrorCode.MethodNotAllowed, `method ${req.method} not allowed on ${url.pathname}`);
        }
        throw new HttpError(404, ErrorCode.NotFound, `no such endpoint: ${req.method} ${url.pathname}`);
    }
  } catch (e) {
    sendError(res, e);
  }
}

function parseJoinBody(body: unknown): string[] {
  const addrs = (body as { addrs?: unknown } | null)?.addrs;
  if (!Array.isArray(addrs) || addrs.length === 0 || !addrs.every((a) => typeof a === 'string')) {
    throw new HttpError(400, ErrorCode.BadRequest, 'body must be {"addrs": ["host:port", ...]} with at least one address');
  }
  if (addrs.length > HttpApiLimits.joinAddrsMax) {
    throw new HttpError(400, ErrorCode.BadRequest, `at most ${HttpApiLimits.joinAddrsMax} addresses per join`);
  }
  for (const a of addrs as string[]) {
    const hp = parseHostPort(a);
    if (hp.port === 0) throw new HttpError(400, ErrorCode.BadRequest, `invalid address "${a}": port must be 1..65535`);
  }
  return addrs as string[];
}
