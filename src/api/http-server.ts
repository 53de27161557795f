/**
 * The agent's HTTP API: membership routes here, control routes in
 * config-routes.ts, GET /v1/agent/stats in agent-routes.ts. Every request
 * first passes the RequestGuard (Host, token; see auth.ts), then its
 * client's request rate (client-limits.ts: 429 ERR_RATE_LIMITED with
 * Retry-After), then the Content-Type check, all before its body is read;
 * over TLS when a certificate is given. Every refusal at a limit is counted
 * in limitStats (limit-stats.ts).
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
import { RequestGuard, type Principal } from './request-guard.js';
import { handleKeyringRoute, type KeyringService } from './keyring-routes.js';
import { agentStatsView, handleAgentRoute } from './agent-routes.js';
import { hasBody } from './auth.js';
import { addressClient, ClientLimiter, resolveClientLimits, type ClientLimits } from './client-limits.js';
import { countRefusal, newLimitStats, type LimitStats } from './limit-stats.js';

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
  /** Concurrent connections; past it Node refuses new ones (counted: limitStats.connectionsDropped). */
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
  /** Per-client limits (request rate, watches, leases), each field replacing defaultClientLimits'; tests and benchmarks raise them. */
  clientLimits?: Partial<ClientLimits>;
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
  /** Refusals at each limit since the server started (also at GET /v1/agent/stats). */
  readonly limitStats: LimitStats;
  /** The per-client tables: rate buckets, open watches, leases. */
  readonly clients: ClientLimiter;
  private readonly server: http.Server | https.Server;

  private constructor(server: http.Server | https.Server, address: Address, scheme: 'http' | 'https', ctx: ServerContext) {
    this.server = server;
    this.address = address;
    this.scheme = scheme;
    this.tokens = ctx.tokens;
    this.limitStats = ctx.stats;
    this.clients = ctx.limiter;
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
    const stats = newLimitStats();
    const limiter = new ClientLimiter(resolveClientLimits(options.clientLimits), stats, () => performance.now());
    const ctx: ServerContext = { options, guard, tokens, stats, limiter };
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      void handle(req, res, ctx);
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
    server.on('drop', () => stats.connectionsDropped++);
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
    return new HttpApiServer(server, formatHostPort({ host, port: bound.port }), options.tls === undefined ? 'http' : 'https', ctx);
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

/** What every request of one server shares. */
interface ServerContext {
  options: HttpApiOptions;
  guard: RequestGuard;
  tokens: AclTokenCache | undefined;
  stats: LimitStats;
  limiter: ClientLimiter;
}

/**
 * Host and token, then one request of the client's rate: the client is the
 * token, or the address without one. A request whose token is unknown is
 * charged to its address (429 instead of 401 once that is empty), one whose
 * token lacks the scope to that token.
 */
async function admit(req: http.IncomingMessage, res: http.ServerResponse, url: URL, ctx: ServerContext): Promise<string | undefined> {
  const { guard, limiter } = ctx;
  guard.checkHost(req);
  let principal: Principal;
  try {
    principal = await guard.authorize(req.headers.authorization, req.method ?? 'GET', url.pathname);
  } catch (e) {
    if (e instanceof HttpError && e.status === 401) chargeRate(req, res, limiter, addressClient(req.socket.remoteAddress) ?? 'ip unknown');
    // A known token short of the route's scope is still that token's request.
    const tokenId = e instanceof HttpError ? e.details?.tokenId : undefined;
    if (typeof tokenId === 'string') chargeRate(req, res, limiter, limiter.clientOf(true, tokenId, undefined));
    throw e;
  }
  const client = limiter.clientOf(guard.authEnabled, principal.tokenId, req.socket.remoteAddress);
  chargeRate(req, res, limiter, client);
  return client;
}

function chargeRate(req: http.IncomingMessage, res: http.ServerResponse, limiter: ClientLimiter, client: string | undefined): void {
  try {
    limiter.admit(client);
  } catch (e) {
    // Refused before its body is read: close rather than read a body nobody wants.
    if (hasBody(req)) res.setHeader('connection', 'close');
    throw e;
  }
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, ctx: ServerContext): Promise<void> {
  const { options, guard, tokens, stats, limiter } = ctx;
  try {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Refused requests are answered before their body is read or anything is called.
    const client = await admit(req, res, url, ctx);
    guard.checkContentType(req);
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
        if (handleAgentRoute(req, res, url, () => agentStatsView(stats, limiter))) return;
        if (options.keyring !== undefined && (await handleKeyringRoute(req, res, url, options.keyring))) return;
        if (options.control !== undefined) {
          const routeCtx: RouteContext = {
            ...(tokens === undefined ? {} : { tokens }),
            ...(guard.authEnabled ? { recheck: async () => void (await guard.authorize(req.headers.authorization, req.method ?? 'GET', url.pathname)) } : {}),
            quota: limiter.quota(client),
          };
          if (await handleControlRoute(req, res, url, options.control, routeCtx)) return;
        }
        if (['/v1/members', '/v1/health', '/v1/join', '/v1/leave'].includes(url.pathname)) {
          throw new HttpError(405, ErrorCode.MethodNotAllowed, `method ${req.method} not allowed on ${url.pathname}`);
        }
        throw new HttpError(404, ErrorCode.NotFound, `no such endpoint: ${req.method} ${url.pathname}`);
    }
  } catch (e) {
    countRefusal(stats, e);
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
