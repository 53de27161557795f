/**
 * A small keep-alive HTTP client for the Raft KV server (raft-kv-server.ts),
 * used by the integration tests and benchmarks. Every call resolves (never
 * rejects) with either the answer or a failure that says whether the request
 * may have taken effect: "not-applied" (the server said so, or the request
 * never left) or "unknown" (timeout, connection lost mid-request, 5xx unknown).
 */
import * as http from 'node:http';
import { formatHostPort, type HostPort } from '../util/address.js';

export type KvOutcome = 'not-applied' | 'unknown';

export type KvCallResult<T> =
  | { ok: true; value: T }
  | { ok: false; status: number; code: string; outcome: KvOutcome; leader: string; message: string };

export interface KvClientOptions {
  /** Per-request deadline; past it the call fails with outcome unknown. */
  timeoutMs?: number;
  /** Keep-alive sockets per server. */
  maxSockets?: number;
}

/** Per-request deadline by default: above the server's 2 s proposal timeout so the server answers first. */
const defaultTimeoutMs = 5000;

export class RaftKvClient {
  private readonly agent: http.Agent;
  private readonly timeoutMs: number;

  constructor(options: KvClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 });
  }

  put(at: HostPort, key: string, value: string): Promise<KvCallResult<{ index: number }>> {
    return this.call(at, 'PUT', `/kv/${encodeURIComponent(key)}`, { value });
  }

  get(at: HostPort, key: string): Promise<KvCallResult<{ value: string | null; index: number }>> {
    return this.call<{ value: string | null; index: number }>(at, 'GET', `/kv/${encodeURIComponent(key)}`, undefined, true);
  }

  cas(at: HostPort, key: string, expected: string | null, value: string): Promise<KvCallResult<{ ok: boolean; current: string | null; index: number }>> {
    return this.call(at, 'POST', `/kv/${encodeURIComponent(key)}/cas`, { expected, value });
  }

  delete(at: HostPort, key: string): Promise<KvCallResult<{ existed: boolean; index: number }>> {
    return this.call(at, 'DELETE', `/kv/${encodeURIComponent(key)}`, undefined);
  }

  health(at: HostPort): Promise<KvCallResult<{ ok: boolean }>> {
    return this.call(at, 'GET', '/health', undefined);
  }

  status<T = Record<string, unknown>>(at: HostPort): Promise<KvCallResult<T>> {
    return this.call<T>(at, 'GET', '/status', undefined);
  }

  close(): void {
    this.agent.destroy();
  }

  private call<T>(at: HostPort, method: string, path: string, body: unknown, notFoundIsValue = false): Promise<KvCallResult<T>> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve) => {
      let sent = false;
      const req = http.request(
        {
          agent: this.agent,
          host: at.host,
          port: at.port,
          method,
          path,
          headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
          signal: AbortSignal.timeout(this.timeoutMs),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', () => resolve(failure(0, 'ERR_CONNECTION', 'unknown', 'response interrupted')));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            let parsed: Record<string, unknown>;
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
            } catch {
              resolve(failure(status, 'ERR_BAD_RESPONSE', 'unknown', 'response is not JSON'));
              return;
            }
            if (status === 200 || (status === 404 && notFoundIsValue && 'index' in parsed)) {
              resolve({ ok: true, value: parsed as T });
              return;
            }
            const e = (parsed.error ?? {}) as Record<string, unknown>;
            const outcome: KvOutcome = e.outcome === 'not-applied' || status === 400 || status === 404 ? 'not-applied' : 'unknown';
            resolve(failure(status, String(e.code ?? 'ERR_HTTP'), outcome, String(e.message ?? ''), String(e.leader ?? '')));
          });
        },
      );
      req.on('socket', (s) => {
        if (!s.connecting) sent = true;
        else s.once('connect', () => (sent = true));
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A refused connect never reached the server; anything later may have.
        const outcome: KvOutcome = !sent || err.code === 'ECONNREFUSED' ? 'not-applied' : 'unknown';
        resolve(failure(0, err.name === 'AbortError' || err.name === 'TimeoutError' ? 'ERR_TIMEOUT' : `ERR_${err.code ?? 'NETWORK'}`, outcome, `${formatHostPort(at)}: ${err.message}`));
      });
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }
}

function failure(status: number, code: string, outcome: KvOutcome, message: string, leader = ''): { ok: false; status: number; code: string; outcome: KvOutcome; leader: string; message: string } {
  return { ok: false, status, code, outcome, leader, message };
}
