import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, ShoalError, isShoalError } from '../util/errors.js';
import { formatHostPort, parseHostPort, type Address } from '../util/address.js';
import type { ApiErrorBody, MembershipService } from './types.js';

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
  /** Called after the response to a successful POST /v1/leave has been sent (the daemon shuts down). */
  onLeft?: () => void;
}

const STATUS_BY_CODE: Partial<Record<string, number>> = {
  [ErrorCode.BadRequest]: 400,
  [ErrorCode.InvalidArgument]: 400,
  [ErrorCode.InvalidConfig]: 400,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.JoinFailed]: 503,
  [ErrorCode.NotRunning]: 503,
  [ErrorCode.Unavailable]: 503,
  [ErrorCode.Timeout]: 504,
  [ErrorCode.Aborted]: 503,
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The membership HTTP API: JSON in and out, errors as {"error":{"code","message"}}. */
export class HttpApiServer {
  readonly address: Address;
  private readonly server: http.Server;

  private constructor(server: http.Server, address: Address) {
    this.server = server;
    this.address = address;
  }

  static async listen(options: HttpApiOptions): Promise<HttpApiServer> {
    const { host, port } = parseHostPort(options.listen, 7947);
    const server = http.createServer((req, res) => {
      void handle(req, res, options);
    });
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
    return new HttpApiServer(server, formatHostPort({ host, port: bound.port }));
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

async function handle(req: http.IncomingMessage, res: http.ServerResponse, options: HttpApiOptions): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    switch (route) {
      case 'GET /v1/members':
        return sendJson(res, 200, options.service.members());
      case 'GET /v1/health':
        return sendJson(res, 200, options.service.health());
      case 'POST /v1/join': {
        const body = await readJson(req);
        const addrs = parseJoinBody(body);
        const ac = new AbortController();
        const onClose = (): void => {
          if (!res.writableFinished) ac.abort();
        };
        res.on('close', onClose);
        try {
          const joined = await options.service.join(addrs, { signal: ac.signal });
          return sendJson(res, 200, { joined });
        } finally {
          res.off('close', onClose);
        }
      }
      case 'POST /v1/leave': {
        await readJson(req);
        await options.service.leave();
        res.once('finish', () => options.onLeft?.());
        return sendJson(res, 200, { left: true });
      }
      default:
        if (['/v1/members', '/v1/health', '/v1/join', '/v1/leave'].includes(url.pathname)) {
          throw new HttpError(405, 'ERR_METHOD_NOT_ALLOWED', `method ${req.method} not allowed on ${url.pathname}`);
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

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > HttpApiLimits.bodyMaxBytes) {
      req.resume();
      reject(new HttpError(413, ErrorCode.BadRequest, `body exceeds ${HttpApiLimits.bodyMaxBytes} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let sizeBytes = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      sizeBytes += chunk.length;
      if (sizeBytes > HttpApiLimits.bodyMaxBytes) {
        failed = true;
        chunks.length = 0;
        reject(new HttpError(413, ErrorCode.BadRequest, `body exceeds ${HttpApiLimits.bodyMaxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (err) => {
      failed = true;
      reject(new HttpError(400, ErrorCode.BadRequest, `request failed: ${err.message}`));
    });
    req.on('end', () => {
      if (failed) return;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new HttpError(400, ErrorCode.BadRequest, 'body is not valid JSON'));
      }
    });
  });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: http.ServerResponse, e: unknown): void {
  let status = 500;
  let code: string = 'ERR_INTERNAL';
  let message = e instanceof Error ? e.message : String(e);
  if (e instanceof HttpError) {
    status = e.status;
    code = e.code;
  } else if (isShoalError(e)) {
    status = STATUS_BY_CODE[e.code] ?? 500;
    code = e.code;
  } else {
    message = `internal error: ${message}`;
  }
  const body: ApiErrorBody = { error: { code, message } };
  if (status === 413) res.setHeader('connection', 'close');
  sendJson(res, status, body);
}
