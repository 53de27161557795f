import { lookup } from 'node:dns/promises';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { formatHostPort, parseHostPort, type Address } from '../util/address.js';

/**
 * Counts how many seeds of one join answered. The core reports a finished
 * join push-pull as an event and a failed one through frameFailed; the
 * tracker settles once every seed has either answered or failed, or at the
 * timeout: with at least one answer it resolves with the count, otherwise it
 * rejects ERR_JOIN_FAILED.
 */
export class JoinTracker {
  readonly seeds: ReadonlySet<Address>;
  readonly promise: Promise<number>;
  private answered = 0;
  private readonly failed = new Set<Address>();
  private settled = false;
  private resolveFn!: (n: number) => void;
  private rejectFn!: (e: ShoalError) => void;
  private readonly timer: NodeJS.Timeout;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort: () => void;
  private readonly onSettled: (t: JoinTracker) => void;

  constructor(seeds: Address[], timeoutMs: number, signal: AbortSignal | undefined, onSettled: (t: JoinTracker) => void) {
    this.seeds = new Set(seeds);
    this.signal = signal;
    this.onSettled = onSettled;
    this.promise = new Promise<number>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
    this.timer = setTimeout(() => this.finish(), timeoutMs);
    this.onAbort = () => this.settle(new ShoalError(ErrorCode.Aborted, 'join aborted'));
    signal?.addEventListener('abort', this.onAbort, { once: true });
    if (signal?.aborted) this.onAbort();
  }

  /** A join push-pull completed (with some seed: the reply may carry another address form). */
  answer(): void {
    if (this.settled || this.answered >= this.seeds.size - this.failed.size) return;
    this.answered++;
    this.checkDone();
  }

  /** The join frame to `seed` could not be delivered. */
  fail(seed: Address): void {
    if (this.settled || !this.seeds.has(seed)) return;
    this.failed.add(seed);
    this.checkDone();
  }

  private checkDone(): void {
    if (this.answered + this.failed.size >= this.seeds.size) this.finish();
  }

  private finish(): void {
    if (this.answered > 0) this.settle(this.answered);
    else {
      const why = this.failed.size > 0 ? `${this.failed.size} unreachable` : 'no answer in time';
      this.settle(
        new ShoalError(ErrorCode.JoinFailed, `join failed: no seed of ${[...this.seeds].join(', ')} answered (${why})`, {
          details: { seeds: [...this.seeds], failed: [...this.failed] },
        }),
      );
    }
  }

  private settle(outcome: number | ShoalError): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this.onAbort);
    this.onSettled(this);
    if (typeof outcome === 'number') this.resolveFn(outcome);
    else this.rejectFn(outcome);
  }

  /** Settle now (the agent stops). */
  cancel(): void {
    this.settle(new ShoalError(ErrorCode.NotRunning, 'agent stopped during join'));
  }
}

/** "host:port" with the host resolved to an IP; undefined if it does not resolve. */
export async function resolveSeed(addr: Address): Promise<Address | undefined> {
  const hp = parseHostPort(addr);
  try {
    const { address } = await lookup(hp.host);
    return formatHostPort({ host: address, port: hp.port });
  } catch {
    return undefined;
  }
}
