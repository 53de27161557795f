import { ErrorCode, ShoalError } from '../util/errors.js';
import type { Address } from '../util/address.js';
import { apiTarget, readText, send, whyFailed, type ApiClientOptions, type ApiTarget } from './http-transport.js';
import type { HealthView, MemberView } from './types.js';

export type { ApiClientOptions };

/** Limits of the API client. */
export const ApiClientLimits = {
  /** Plain reads answer at once; a slow agent is reported, not waited on forever. */
  requestTimeoutMs: 10_000,
  /** A join waits for seeds to answer, up to the agent's own join timeout. */
  joinTimeoutMs: 60_000,
  /** Responses are small JSON; a members list of 10k entries fits in 16 MiB. */
  responseMaxBytes: 16 * 1024 * 1024,
} as const;

/**
 * A small client of the agent's HTTP API (used by the CLI). The address is
 * "HOST:PORT" or "http(s)://HOST:PORT"; options add a bearer token and TLS.
 */
export class ApiClient {
  readonly baseUrl: string;
  protected readonly target: ApiTarget;

  constructor(address: Address, options: ApiClientOptions = {}) {
    this.target = apiTarget(address, options);
    this.baseUrl = this.target.baseUrl;
  }

  members(options?: { signal?: AbortSignal }): Promise<MemberView[]> {
    return this.request<MemberView[]>('GET', '/v1/members', undefined, ApiClientLimits.requestTimeoutMs, options?.signal);
  }

  health(options?: { signal?: AbortSignal }): Promise<HealthView> {
    return this.request<HealthView>('GET', '/v1/health', undefined, ApiClientLimits.requestTimeoutMs, options?.signal);
  }

  async join(addrs: Address[], options?: { signal?: AbortSignal }): Promise<number> {
    const r = await this.request<{ joined: number }>('POST', '/v1/join', { addrs }, ApiClientLimits.joinTimeoutMs, options?.signal);
    return r.joined;
  }

  async leave(options?: { signal?: AbortSignal }): Promise<void> {
    await this.request<{ left: boolean }>('POST', '/v1/leave', {}, ApiClientLimits.joinTimeoutMs, options?.signal);
  }

  /** Headers of a request: the token, and the JSON content type on everything but GET (the API refuses a POST without it). */
  protected headersFor(method: string): Record<string, string> {
    return method === 'GET' ? { ...this.target.headers } : { ...this.target.headers, 'content-type': 'application/json' };
  }

  /** One JSON request; errors of the agent come back as typed ShoalErrors (details: status, code, and the agent's details). */
  protected async request<T>(method: string, path: string, body: unknown, timeoutMs: number, signal?: AbortSignal): Promise<T> {
    // A ref'd timer, not AbortSignal.timeout (unref'd): a request left pending must not let the CLI exit with no message.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
    try {
      return await this.requestWithin<T>(method, path, body, timeoutMs, deadline.signal, signal);
    } finally {
      clearTimeout(timer);
    }
  }

  private async requestWithin<T>(method: string, path: string, body: unknown, timeoutMs: number, deadline: AbortSignal, signal?: AbortSignal): Promise<T> {
    const combined = AbortSignal.any([deadline, ...(signal ? [signal] : [])]);
    const failed = (e: unknown, what: string): ShoalError => {
      if (signal?.aborted) return new ShoalError(ErrorCode.Aborted, `${method} ${this.baseUrl}${path}: aborted`, { cause: e });
      if (deadline.aborted) return new ShoalError(ErrorCode.Timeout, `${method} ${this.baseUrl}${path}: no answer within ${timeoutMs} ms`, { cause: e });
      return new ShoalError(ErrorCode.Unreachable, `${what}: ${whyFailed(e)}`, { cause: e });
    };
    let res;
    try {
      res = await send(this.baseUrl + path, {
        method,
        headers: this.headersFor(method),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: combined,
        ca: this.target.ca,
      });
    } catch (e) {
      throw failed(e, `cannot reach the agent at ${this.baseUrl}`);
    }
    let text: string;
    try {
      text = await readText(res, ApiClientLimits.responseMaxBytes);
    } catch (e) {
      if (e instanceof ShoalError) throw e;
      throw failed(e, `${method} ${this.baseUrl}${path}: the answer was cut short`);
    }
    return parseAnswer<T>(method, path, res.statusCode ?? 0, text);
  }
}

/** The JSON of a 2xx answer, or the agent's error as a typed ShoalError. */
export function parseAnswer<T>(method: string, path: string, status: number, text: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ShoalError(ErrorCode.DecodeFailed, `${method} ${path}: HTTP ${status} with a body that is not JSON`);
  }
  if (status < 200 || status > 299) {
    const err = (json as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
    const code = typeof err?.code === 'string' ? err.code : 'ERR_HTTP';
    const message = typeof err?.message === 'string' ? err.message : `HTTP ${status}`;
    const extra = err?.details !== null && typeof err?.details === 'object' ? (err.details as Record<string, unknown>) : {};
    throw new ShoalError(knownCode(code), message, { details: { ...extra, status, code } });
  }
  return json as T;
}

export function knownCode(code: string): ErrorCode {
  return (Object.values(ErrorCode) as string[]).includes(code) ? (code as ErrorCode) : ErrorCode.Unavailable;
}
