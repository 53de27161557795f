import { EventEmitter } from 'node:events';

/**
 * A typed wrapper over EventEmitter: event names and listener arguments are
 * checked at compile time (lodestar's StrictEventEmitter, libp2p's typed
 * EventTarget). `Events` maps each event name to its argument tuple.
 */
export class TypedEmitter<Events extends { [K in keyof Events]: unknown[] }> {
  private readonly emitter = new EventEmitter();

  constructor(maxListeners = 100) {
    this.emitter.setMaxListeners(maxListeners);
  }

  on<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.emitter.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  listenerCount<K extends keyof Events & string>(event: K): number {
    return this.emitter.listenerCount(event);
  }

  /**
   * Calls every listener; one that throws does not stop the others or reach
   * the caller (a protocol shell emitting an event must never halt because a
   * user's listener failed): the error goes to listenerFailed().
   */
  protected emit<K extends keyof Events & string>(event: K, ...args: Events[K]): boolean {
    // rawListeners: once() wrappers, which remove themselves when called.
    const listeners = this.emitter.rawListeners(event) as ((...a: unknown[]) => void)[];
    for (const listener of listeners) {
      try {
        listener.apply(this, args);
      } catch (e) {
        this.listenerFailed(event, e);
      }
    }
    return listeners.length > 0;
  }

  /** A listener threw. Subclasses report it; the default drops it. */
  protected listenerFailed(_event: string, _error: unknown): void {}
}
