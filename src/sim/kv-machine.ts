/**
 * A small replicated key/value state machine for the Raft simulator
 * (raft-host.ts, raft-clients.ts): put / get / delete / compare-and-swap on
 * string keys, with client sessions so retried requests are applied at most
 * once (Ongaro's dissertation, §6.3).
 *
 * Every command carries a request id (client id + sequence number). A client has
 * one request outstanding at a time and numbers them 1, 2, 3...; the machine
 * remembers per client the last sequence applied and its result, and answers a
 * retry of it from that record instead of applying it again. The session table
 * is bounded: past `maxSessions` the least recently used session is evicted (the
 * same one on every replica: apply order is the log order), and a later request
 * from that client, other than its first, is answered `session-expired` so it
 * never risks a double apply; the client must start over under a new id.
 *
 * Pure: no I/O, deterministic. Bad bytes are an operating error: decode throws a
 * ShoalError(DecodeFailed); apply() never throws on them (it counts and skips).
 */
import { assert } from '../util/assert.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { decodeKvCommand, decodeKvSnapshot, encodeKvSnapshot, kvLimits, type KvCommand, type KvRequestId, type KvResult, type KvSession } from './kv-codec.js';

export { kvLimits, KvCommandType, encodeKvCommand, decodeKvCommand } from './kv-codec.js';
export type { KvRequestId, KvCommand, KvResult } from './kv-codec.js';

export interface KvApplied {
  id: KvRequestId;
  result: KvResult;
  /** True when answered from the session table (a retry), not applied now. */
  duplicate: boolean;
}

export class KvMachine {
  private readonly data = new Map<string, string>();
  /** Insertion order is recency order (least recent first). */
  private readonly sessions = new Map<string, KvSession>();
  private readonly maxSessions: number;
  /** Committed entries whose bytes did not decode (identical on every replica). */
  invalidCommands = 0;
  evictedSessions = 0;

  constructor(options: { maxSessions?: number } = {}) {
    this.maxSessions = options.maxSessions ?? kvLimits.defaultMaxSessions;
    assert(Number.isInteger(this.maxSessions) && this.maxSessions > 0, 'maxSessions must be a positive integer');
  }

  /** Apply one committed entry's data. Empty data (a leader's no-op) and undecodable data return null. */
  apply(data: Uint8Array): KvApplied | null {
    if (data.length === 0) return null;
    let cmd: KvCommand;
    try {
      cmd = decodeKvCommand(data);
    } catch {
      this.invalidCommands++;
      return null;
    }
    return this.applyCommand(cmd);
  }

  applyCommand(cmd: KvCommand): KvApplied {
    const { clientId, seq } = cmd.id;
    const session = this.sessions.get(clientId);
    if (session !== undefined) {
      this.sessions.delete(clientId);
      this.sessions.set(clientId, session);
      if (seq === session.lastSeq) return { id: cmd.id, result: session.lastResult, duplicate: true };
      if (seq < session.lastSeq) return { id: cmd.id, result: { kind: 'stale' }, duplicate: true };
    } else if (seq !== 1) {
      return { id: cmd.id, result: { kind: 'session-expired' }, duplicate: false };
    }
    const result = this.execute(cmd);
    if (session !== undefined) {
      session.lastSeq = seq;
      session.lastResult = result;
    } else {
      this.sessions.set(clientId, { lastSeq: seq, lastResult: result });
      while (this.sessions.size > this.maxSessions) {
        const oldest = this.sessions.keys().next().value as string;
        this.sessions.delete(oldest);
        this.evictedSessions++;
      }
    }
    return { id: cmd.id, result, duplicate: false };
  }

  /** A local read, for ReadIndex / lease reads once applied >= the read index. */
  get(key: string): string | null {
    return this.data.get(key) ?? null;
  }

  get size(): number {
    return this.data.size;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** A copy of the whole store (tests, final-state checks). */
  entries(): Map<string, string> {
    return new Map(this.data);
  }

  snapshot(): Uint8Array {
    return encodeKvSnapshot(this.data, this.sessions);
  }

  /** Replace the whole state with a snapshot's. Throws ShoalError(CorruptSnapshot) on bad bytes, leaving the state unchanged. */
  restore(bytes: Uint8Array): void {
    let decoded: { data: Map<string, string>; sessions: Map<string, KvSession> };
    try {
      decoded = decodeKvSnapshot(bytes);
    } catch (e) {
      throw new ShoalError(ErrorCode.CorruptSnapshot, 'kv snapshot does not decode', { cause: e });
    }
    this.data.clear();
    for (const [k, v] of decoded.data) this.data.set(k, v);
    this.sessions.clear();
    for (const [k, s] of decoded.sessions) this.sessions.set(k, s);
  }

  private execute(cmd: KvCommand): KvResult {
    const current = this.data.get(cmd.key) ?? null;
    switch (cmd.type) {
      case 'put':
        this.data.set(cmd.key, cmd.value);
        return { kind: 'put' };
      case 'get':
        return { kind: 'get', value: current };
      case 'delete':
        this.data.delete(cmd.key);
        return { kind: 'delete', existed: current !== null };
      case 'cas': {
        const ok = current === cmd.expected;
        if (ok) this.data.set(cmd.key, cmd.value);
        return { kind: 'cas', ok, current };
      }
    }
  }
}

