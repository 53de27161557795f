/**
 * The KV HTTP front end of one Raft node (keep-alive HTTP/1.1, JSON):
 *
 *   PUT    /kv/{key}      {"value", "clientId"?, "seq"?}      -> {"index","revision"}
 *   GET    /kv/{key}      linearizable (ReadIndex)             -> {"key","value","index"} | 404
 *   POST   /kv/{key}/cas  {"expected": string|null, "value"}  -> {"ok","current","index","revision"}
 *   DELETE /kv/{key}                                          -> {"existed","index","revision"}
 *   GET    /status        id, role, term, leader, commit, applied, voters, peers, profile...
 *   GET    /health        {"ok": true} without touching Raft
 *
 * Any node answers: a follower forwards writes and ReadIndex requests to the
 * leader inside Raft (no HTTP redirect). A write is answered only after its
 * entry is committed and applied. Errors are {"error":{"code","message",
 * "leader","outcome"}} where outcome is "not-applied" (safe to retry) or
 * "unknown" (it may still commit); without a leader or quorum a request fails
 * with 503 within the shell's proposal timeout.
 *
 * Writes without a client-supplied (clientId, seq) get a fresh request id per
 * request (no de-duplication of client retries); a client that retries with
 * its own ids gets at-most-once application.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { kvLimits, type KvCommand, type KvRequestId } from '../raft/kv-machine.js';
import { formatHostPort, type HostPort } from '../util/address.js';
import { ErrorCode, ShoalError, isShoalError } from '../util/errors.js';
import { HttpError, readJson as readJsonLimited, sendJson as send } from '../api/config-http.js';
import type { RaftShell } from './raft-shell.js';

export const raftKvHttpLimits = {
  /** A value (1 MiB) plus JSON escaping slack and the request id. */
  bodyMaxBytes: 2 * kvLimits.maxValueBytes + 4096,
  /** Slow clients are cut off. */
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  /** Idle keep-alive connections are closed after this. */
  keepAliveTimeoutMs: 30_000,
  /** Concurrent connections; past it Node refuses new ones. */
  connectionsMax: 1024,
} as const;

const statusByCode: Partial<Record<string, number>> = {
  [ErrorCode.BadRequest]: 400,
  [ErrorCode.InvalidArgument]: 400,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.SessionExpired]: 409,
  [ErrorCode.StaleRequest]: 409,
  [ErrorCode.Aborted]: 499,
};

export class RaftKvServer {
  private readonly bootId = randomBytes(6).toString('hex');
  private closing = false;
  private requestCounter = 0;

  private constructor(
    private readonly server: http.Server,
    readonly address: HostPort,
    private readonly shell: RaftShell,
  ) {}

  static listen(at: HostPort, shell: RaftShell): Promise<RaftKvServer> {
    const server = http.createServer({ keepAlive: true, noDelay: true });
    server.headersTimeout = raftKvHttpLimits.headersTimeoutMs;
    server.requestTimeout = raftKvHttpLimits.requestTimeoutMs;
    server.keepAliveTimeout = raftKvHttpLimits.keepAliveTimeoutMs;
    server.maxConnections = raftKvHttpLimits.connectionsMax;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void =>
        reject(new ShoalError(ErrorCode.BindFailed, `cannot listen for HTTP on ${formatHostPort(at)}: ${err.message}`, { cause: err }));
      server.once('error', onError);
      server.listen(at.port, at.host, () => {
        server.off('error', onError);
        const a = server.address() as AddressInfo;
        const kv = new RaftKvServer(server, { host: a.address, port: a.port }, shell);
        server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => kv.handle(req, res));
        resolve(kv);
      });
    });
  }

  /**
   * Stop accepting, close idle keep-alive connections, answer in-flight
   * requests with `connection: close`; connections still open after graceMs
   * are cut.
   */
  close(graceMs = 1000): Promise<void> {
    this.closing = true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.server.closeAllConnections(), graceMs);
      timer.unref();
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      this.server.closeIdleConnections();
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const controller = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    this.route(req, controller.signal).then(
      ([status, body]) => {
        if (this.closing) res.setHeader('connection', 'close');
        send(res, status, body);
      },
      (e: unknown) => {
        if (this.closing) res.setHeader('connection', 'close');
        sendError(res, e);
      },
    );
  }

  private async route(req: http.IncomingMessage, signal: AbortSignal): Promise<[number, unknown]> {
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    const pathOnly = url.split('?')[0];
    if (pathOnly === '/health' && method === 'GET') {
      // No Raft work: the HTTP round trip alone (benchmarks use it as a baseline).
      await drain(req);
      return [200, { ok: true, id: this.shell.id }];
    }
    if (pathOnly === '/status' && method === 'GET') {
      await drain(req);
      return [200, this.shell.status()];
    }
    const m = /^\/kv\/([^/]+)(\/cas)?$/.exec(pathOnly);
    if (m === null) throw new HttpError(404, ErrorCode.NotFound, `no route ${method} ${pathOnly}`);
    const key = decodeKey(m[1]);
    const isCas = m[2] !== undefined;
    if (isCas && method === 'POST') {
      const body = await readJson(req);
      const expected = body.expected;
      if (expected !== null && typeof expected !== 'string') throw badRequest('"expected" must be a string or null');
      const cmd: KvCommand = { type: 'cas', id: this.requestId(body), key, expected, value: stringField(body, 'value') };
      const r = await this.shell.propose(cmd, signal);
      if (r.result.kind !== 'cas') return unapplied(r.result.kind);
      return [200, { ok: r.result.ok, current: r.result.current, index: r.index, revision: r.index }];
    }
    if (isCas) throw new HttpError(405, ErrorCode.BadRequest, `${method} not allowed on ${pathOnly}`);
    switch (method) {
      case 'GET': {
        await drain(req);
        const r = await this.shell.read(key, signal);
        if (r.value === null) return [404, { error: { code: ErrorCode.NotFound, message: `no key ${key}` }, key, value: null, index: r.index }];
        return [200, { key, value: r.value, index: r.index }];
      }
      case 'PUT': {
        const body = await readJson(req);
        const cmd: KvCommand = { type: 'put', id: this.requestId(body), key, value: stringField(body, 'value') };
        const r = await this.shell.propose(cmd, signal);
        if (r.result.kind !== 'put') return unapplied(r.result.kind);
        return [200, { index: r.index, revision: r.index }];
      }
      case 'DELETE': {
        const body = await readJson(req, true);
        const r = await this.shell.propose({ type: 'delete', id: this.requestId(body), key }, signal);
        if (r.result.kind !== 'delete') return unapplied(r.result.kind);
        return [200, { existed: r.result.existed, index: r.index, revision: r.index }];
      }
      default:
        throw new HttpError(405, ErrorCode.BadRequest, `${method} not allowed on ${pathOnly}`);
    }
  }

  private requestId(body: Record<string, unknown>): KvRequestId {
    const { clientId, seq } = body;
    if (clientId === undefined && seq === undefined) {
      return { clientId: `${this.shell.id}.${this.bootId}.${++this.requestCounter}`, seq: 1 };
    }
    if (typeof clientId !== 'string' || clientId.length === 0 || Buffer.byteLength(clientId) > kvLimits.maxClientIdBytes) {
      throw badRequest(`"clientId" must be a non-empty string of at most ${kvLimits.maxClientIdBytes} bytes`);
    }
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) throw badRequest('"seq" must be a positive integer');
    return { clientId, seq };
  }
}

function unapplied(kind: 'put' | 'get' | 'delete' | 'cas' | 'session-expired' | 'stale'): never {
  if (kind === 'session-expired') {
    throw new ShoalError(ErrorCode.SessionExpired, 'client session expired: request not applied; start a new client id', {
      details: { outcome: 'not-applied' },
    });
  }
  if (kind === 'stale') {
    throw new ShoalError(ErrorCode.StaleRequest, 'an older request of this client: not applied again', { details: { outcome: 'not-applied' } });
  }
  // A duplicate request id reused for a different command type.
  throw new ShoalError(ErrorCode.InvalidArgument, `request id already used for a ${kind}`, { details: { outcome: 'not-applied' } });
}

const badRequest = (message: string): HttpError => new HttpError(400, ErrorCode.BadRequest, message);

function decodeKey(raw: string): string {
  let key: string;
  try {
    key = decodeURIComponent(raw);
  } catch {
    throw badRequest('key is not valid percent-encoding');
  }
  if (key.length === 0 || Buffer.byteLength(key) > kvLimits.maxKeyBytes) throw badRequest(`key must be 1..${kvLimits.maxKeyBytes} bytes`);
  return key;
}

function stringField(body: Record<string, unknown>, name: string): string {
  const v = body[name];
  if (typeof v !== 'string') throw badRequest(`"${name}" must be a string`);
  if (Buffer.byteLength(v) > kvLimits.maxValueBytes) throw new HttpError(413, ErrorCode.BadRequest, `"${name}" exceeds ${kvLimits.maxValueBytes} bytes`);
  return v;
}

/** Reads (and ignores) the body of a request that takes none, within the same bound: the connection stays usable. */
async function drain(req: http.IncomingMessage): Promise<void> {
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > raftKvHttpLimits.bodyMaxBytes) throw new HttpError(413, ErrorCode.BadRequest, `request body exceeds ${raftKvHttpLimits.bodyMaxBytes} bytes`);
  }
}

/** A JSON object body of at most bodyMaxBytes (413 past it); an empty body is {} when optional. */
async function readJson(req: http.IncomingMessage, optional = false): Promise<Record<string, unknown>> {
  const v = await readJsonLimited(req, raftKvHttpLimits.bodyMaxBytes);
  if (v === undefined && !optional) throw badRequest('body is not valid JSON');
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badRequest('body must be a JSON object');
  return v as Record<string, unknown>;
}

function sendError(res: http.ServerResponse, e: unknown): void {
  if (e instanceof HttpError) {
    if (e.status === 413) res.setHeader('connection', 'close');
    send(res, e.status, { error: { code: e.code, message: e.message } });
    return;
  }
  if (isShoalError(e)) {
    const details = e.details ?? {};
    const status = statusByCode[e.code] ?? 503;
    send(res, status, {
      error: { code: e.code, message: e.message, leader: details.leader ?? '', outcome: details.outcome ?? 'unknown' },
    });
    return;
  }
  send(res, 500, { error: { code: 'ERR_INTERNAL', message: e instanceof Error ? e.message : String(e), outcome: 'unknown' } });
}
