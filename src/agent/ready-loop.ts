/**
 * Drives a core's Ready loop inside a shell. kick() schedules one run soon
 * (timers.defer: setImmediate in the real world, so every message and
 * request of this event-loop turn lands in the same Ready); a run handles
 * Readys one at a time until the core has none; a kick during a run starts
 * another run after it. The first error a run throws stops the loop and is
 * reported once (the shell halts on it).
 */
import { nodeTimers, type ShellTimers } from './timers.js';

export interface ReadyLoopTarget {
  hasReady(): boolean;
  /** Take the next Ready and carry it out (persist, send, apply, advance). */
  handleNext(): Promise<void>;
  onError(e: unknown): void;
}

export class ReadyLoop {
  private scheduled = false;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly target: ReadyLoopTarget,
    private readonly timers: Pick<ShellTimers, 'defer'> = nodeTimers,
  ) {}

  kick(): void {
    if (this.stopped || this.scheduled || this.running !== undefined) return;
    this.scheduled = true;
    this.timers.defer(() => {
      this.scheduled = false;
      if (this.stopped || this.running !== undefined) return;
      this.running = this.run().finally(() => {
        this.running = undefined;
        if (!this.stopped && this.target.hasReady()) this.kick();
      });
    });
  }

  /** No more runs; a run in progress ends after its current Ready. */
  stop(): void {
    this.stopped = true;
  }

  /** Resolves once no run is in progress. */
  async idle(): Promise<void> {
    // A failed run was already handed to onError.
    await this.running?.catch(() => undefined);
  }

  private async run(): Promise<void> {
    try {
      while (!this.stopped && this.target.hasReady()) await this.target.handleNext();
    } catch (e) {
      if (this.stopped) return;
      this.stopped = true;
      this.target.onError(e);
    }
  }
}
