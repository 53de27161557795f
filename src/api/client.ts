import { ErrorCode, ShoalError } from '../util/errors.js';
import { formatHostPort, parseHostPort, type Address } from '../util/address.js';
import type { HealthView, MemberView } from './types.js';

/** Limits of the API client. */
export const ApiClientLimits = {
  /** Plain reads answer at once; a slow agent is reported, not waited on forever. */
  requestTimeoutMs: 10_000,
  /** A join waits for seeds to answer, up to the agent's own join timeout. */
  joinTimeoutMs: 60_000,
  /** Responses are small JSON; a members list of 10k entries fits in 16 MiB. */
  responseMaxBytes: 16 * 1024 * 1024,
} as const;

/** A small client of the agent's HTTP API (used by the CLI). */
export class ApiClient {
  readonly baseUrl: string;

  constructor(address: Address) {
    const hp = parseHostPort(address, 7947);
    const host = hp.host === '0.0.0.0' ? '127.0.0.1' : hp.host;
    this.baseUrl = `http://${formatHostPort({ host, port: hp.port })}`;
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

  /** One JSON request; errors of the agent come back as typed ShoalErrors (details: status, code, and the agent's details). */
  protected async request<T>(method: string, path: string, body: unknown, timeoutMs: number, signal?: AbortSignal): Promise<T> {
    // A ref'd timer, not AbortSignal.timeout (unref'd): when the agent resets the connection, fetch can be
    // left pending with nothing else keeping the process alive, and the CLI would exit 13 with no message.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
    try {
      return await this.requestWithin<T>(method, path, body, timeoutMs, deadline.signal, signal);
    } finally {
      clearTimeout(timer);
    }
  }

  private async requestWithin<T>(method: string, path: string, body: unknown, timeoutMs: number, deadline: AbortSignal, signal?: AbortSignal): Promise<T> {
    const signals = [deadline, ...(signal ? [signal] : [])];
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.any(signals),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) {
        const code = signal?.aborted ? ErrorCode.Aborted : ErrorCode.Timeout;
        throw new ShoalError(code, `${method} ${this.baseUrl}${path}: no answer within ${timeoutMs} ms`, { cause: e });
      }
      const why = cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
      throw new ShoalError(ErrorCode.Unreachable, `cannot reach the agent at ${this.baseUrl}: ${why}`, { cause: e });
    }
    const declared = Number(res.headers.get('content-length') ?? 0);
    if (declared > ApiClientLimits.responseMaxBytes) {
      throw new ShoalError(ErrorCode.DecodeFailed, `response of ${declared} bytes exceeds ${ApiClientLimits.responseMaxBytes}`);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      const code = signal?.aborted ? ErrorCode.Aborted : deadline.aborted ? ErrorCode.Timeout : ErrorCode.Unreachable;
      throw new ShoalError(code, `${method} ${this.baseUrl}${path}: the answer was cut short (${e instanceof Error ? e.message : String(e)})`, { cause: e });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ShoalError(ErrorCode.DecodeFailed, `${method} ${path}: HTTP ${res.status} with a body that is not JSON`);
    }
    if (!res.ok) {
      const err = (json as { error?: { code?: unknown; message?: unknown; details?: unknown } }).error;
      const code = typeof err?.code === 'string' ? err.code : 'ERR_HTTP';
      const message = typeof err?.message === 'string' ? err.message : `HTTP ${res.status}`;
      const extra = err?.details !== null && typeof err?.details === 'object' ? (err.details as Record<string, unknown>) : {};
      throw new ShoalError(knownCode(code), message, { details: { ...extra, status: res.status, code } });
    }
    return json as T;
  }
}

export function knownCode(code: string): ErrorCode {
  return (Object.values(ErrorCode) as string[]).includes(code) ? (code as ErrorCode) : ErrorCode.Unavailable;
}
