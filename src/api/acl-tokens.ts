/**
 * API tokens kept in the config store, one record per token under
 * `shoal/acl/tokens/<id>`:
 *
 *   {"id","scope":"read"|"write","description","created","sha256"}
 *
 * Only the SHA-256 of a token's secret is stored; the secret is shown once,
 * when the token is created. A request's token is found by the hash of what
 * it presents, so no secret is ever compared byte by byte (the hash of a
 * guess tells nothing about the secret).
 *
 * Requests look tokens up in AclTokenCache, filled from the local replica (a
 * serializable read: the Raft member's own store, or the follower copy of a
 * member outside the Raft group), never through a Raft round trip. The cache
 * is refilled once it is older than cacheMs, so a token revoked anywhere is
 * refused everywhere within cacheMs plus the member's replication lag; a
 * token the cache does not know refills it at most every missRefillMs, so a
 * token created a moment ago works at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ErrorCode, ShoalError } from '../util/errors.js';
import type { KvView } from './config-types.js';
import { SYSTEM_PREFIX } from './system-keys.js';

export const ACL_TOKENS_PREFIX = `${SYSTEM_PREFIX}acl/tokens/`;

/** What a token may do: read (GET routes) or write (read and every other route but management). */
export const TOKEN_SCOPES = ['read', 'write'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export const AclLimits = {
  /** Tokens in the store; creating one more is refused. Also bounds the cache and its refill. */
  tokensMax: 1_000,
  /** A description, in UTF-8 bytes: a note for operators, not a document. */
  descriptionBytesMax: 256,
  /** A presented token, in characters (longer ones are not looked up); the management token's own maximum (AgentDefaults.apiTokenMaxChars). */
  presentedMaxChars: 512,
  /** How long the cache of token records is trusted: the bound on how long a revoked token still works. */
  cacheMs: 1_000,
  /** Least time between refills caused by unknown tokens: bounds the cost of a flood of wrong tokens. */
  missRefillMs: 100,
} as const;

export interface AclTokenView {
  id: string;
  scope: TokenScope;
  description: string;
  /** ISO 8601, the creating member's clock. */
  created: string;
}

export interface AclTokenRecord extends AclTokenView {
  /** Hex SHA-256 of the secret. */
  sha256: string;
}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** A new token: a random id (the record's key) and a random secret of 256 bits. */
export function newToken(): { id: string; secret: string } {
  return { id: randomBytes(8).toString('hex'), secret: `shoal_${randomBytes(32).toString('base64url')}` };
}

export function tokenKey(id: string): string {
  return ACL_TOKENS_PREFIX + id;
}

/** A token id as `create` makes them; anything else is no token's id. */
export function isTokenId(id: string): boolean {
  return /^[0-9a-f]{16}$/.test(id);
}

export function encodeRecord(r: AclTokenRecord): string {
  return JSON.stringify({ id: r.id, scope: r.scope, description: r.description, created: r.created, sha256: r.sha256 });
}

/** A stored record, or undefined when the value is not one (it then grants nothing). */
export function decodeRecord(kv: KvView): AclTokenRecord | undefined {
  let o: unknown;
  try {
    o = JSON.parse(kv.value);
  } catch {
    return undefined;
  }
  if (o === null || typeof o !== 'object') return undefined;
  const r = o as Record<string, unknown>;
  const ok =
    typeof r.id === 'string' &&
    kv.key === tokenKey(r.id) &&
    (TOKEN_SCOPES as readonly unknown[]).includes(r.scope) &&
    typeof r.description === 'string' &&
    typeof r.created === 'string' &&
    typeof r.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(r.sha256);
  if (!ok) return undefined;
  return { id: r.id as string, scope: r.scope as TokenScope, description: r.description as string, created: r.created as string, sha256: r.sha256 as string };
}

export function viewOf(r: AclTokenRecord): AclTokenView {
  return { id: r.id, scope: r.scope, description: r.description, created: r.created };
}

/** Reads every token record from the local replica. */
export type AclTokenSource = () => Promise<KvView[]>;

export class AclTokenCache {
  private byHash = new Map<string, AclTokenRecord>();
  private filledAtMs = Number.NEGATIVE_INFINITY;
  private filling: Promise<void> | undefined;
  /** Bumped by invalidate(): a refill that started before it does not count as fresh. */
  private epoch = 0;
  /** Refills done (for tests and stats). */
  fills = 0;

  constructor(
    private readonly source: AclTokenSource,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /** The record of the token whose secret hashes to `hash`; rejects (ERR_UNAVAILABLE...) when the records cannot be read. */
  async lookup(secret: string): Promise<AclTokenRecord | undefined> {
    if (secret.length > AclLimits.presentedMaxChars) return undefined;
    const hash = sha256(secret).toString('hex');
    if (this.nowMs() - this.filledAtMs > AclLimits.cacheMs) await this.refill();
    const found = this.byHash.get(hash);
    if (found !== undefined || this.nowMs() - this.filledAtMs < AclLimits.missRefillMs) return found;
    await this.refill();
    return this.byHash.get(hash);
  }

  /** Forget the records: the next lookup reads them again (after a create or revoke through this member). */
  invalidate(): void {
    this.epoch++;
    this.filledAtMs = Number.NEGATIVE_INFINITY;
  }

  private refill(): Promise<void> {
    this.filling ??= this.doRefill().finally(() => {
      this.filling = undefined;
    });
    return this.filling;
  }

  private async doRefill(): Promise<void> {
    const startedMs = this.nowMs();
    const epoch = this.epoch;
    let kvs: KvView[];
    try {
      kvs = await this.source();
    } catch (e) {
      // Fail closed: a member that cannot read the records accepts no token but the management token.
      throw new ShoalError(ErrorCode.Unavailable, `cannot read the API tokens: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    const byHash = new Map<string, AclTokenRecord>();
    for (const kv of kvs.slice(0, AclLimits.tokensMax)) {
      const r = decodeRecord(kv);
      if (r !== undefined) byHash.set(r.sha256, r);
    }
    this.byHash = byHash;
    if (epoch === this.epoch) this.filledAtMs = startedMs;
    this.fills++;
  }
}
