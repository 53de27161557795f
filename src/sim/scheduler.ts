import { assert } from '../util/assert.js';

/**
 * Virtual time for the simulator: a priority queue of events keyed by
 * (timeMs, seq). Events at the same time run in the order they were scheduled,
 * so a run is a pure function of the seed and the code.
 *
 * Storage is a slab of slots in parallel arrays (no object per event beyond
 * the caller's closure) and a binary heap of slot indices. Cancellation is
 * lazy: a cancelled slot stays in the heap and is freed when it reaches the top.
 *
 * Owners: an event may belong to an owner (a node's address). A paused owner's
 * events are held when they come due and run, late and in order, when the
 * owner resumes: a long GC pause or a CPU-starved host. An owner delay makes
 * every event scheduled for that owner run later by a fixed amount.
 */

/** Most events pending at once (timer ids encode the slot in 24 bits). */
export const SchedulerLimits = {
  slotsMax: 1 << 24,
} as const;

const SLOT_SPACE = SchedulerLimits.slotsMax;
const GEN_MAX = 1 << 28; // gen * SLOT_SPACE stays below 2^53

const SlotState = {
  free: 0,
  queued: 1,
  held: 2,
  cancelled: 3,
} as const;

const INITIAL_CAPACITY = 1024;

export class Scheduler {
  /** Virtual time in milliseconds; starts at 0 and never goes back. */
  nowMs = 0;
  /** Events run so far (held and cancelled events not counted). */
  eventsRun = 0;

  private capacity = INITIAL_CAPACITY;
  private times = new Float64Array(INITIAL_CAPACITY);
  private seqs = new Float64Array(INITIAL_CAPACITY);
  private gens = new Uint32Array(INITIAL_CAPACITY);
  private states = new Uint8Array(INITIAL_CAPACITY);
  private holdable = new Uint8Array(INITIAL_CAPACITY);
  private fns: Array<(() => void) | undefined> = new Array<(() => void) | undefined>(INITIAL_CAPACITY).fill(undefined);
  private owners: Array<string | undefined> = new Array<string | undefined>(INITIAL_CAPACITY).fill(undefined);
  private freeSlots = new Int32Array(INITIAL_CAPACITY);
  private freeCount = 0;
  private slotsUsed = 0;

  private heap = new Int32Array(INITIAL_CAPACITY);
  private heapSize = 0;
  private nextSeq = 0;
  private live = 0;

  private readonly held = new Map<string, number[]>();
  private readonly ownerDelaysMs = new Map<string, number>();

  /** Schedule fn at absolute virtual time (plus the owner's delay, if any). Returns a timer id. */
  at(timeMs: number, fn: () => void, owner?: string): number {
    let t = timeMs;
    if (owner !== undefined && this.ownerDelaysMs.size > 0) t += this.ownerDelaysMs.get(owner) ?? 0;
    return this.push(t, fn, owner, true);
  }

  /** Schedule fn delayMs from now (plus the owner's delay, if any). Returns a timer id. */
  after(delayMs: number, fn: () => void, owner?: string): number {
    assert(delayMs >= 0, `negative delay ${delayMs}`);
    return this.at(this.nowMs + delayMs, fn, owner);
  }

  /**
   * Schedule at exactly timeMs, ignoring the owner's delay. With
   * holdWhenPaused false the event runs even while its owner is paused (the
   * network uses this for deliveries, which it gates through a bounded inbox).
   */
  atExact(timeMs: number, fn: () => void, owner: string | undefined, holdWhenPaused: boolean): number {
    return this.push(timeMs, fn, owner, holdWhenPaused);
  }

  /** Cancel a pending or held event. Returns whether it was still pending. */
  cancel(id: number): boolean {
    const slot = id % SLOT_SPACE;
    const gen = Math.floor(id / SLOT_SPACE);
    if (slot < 0 || slot >= this.slotsUsed || this.gens[slot] !== gen) return false;
    const state = this.states[slot];
    if (state !== SlotState.queued && state !== SlotState.held) return false;
    this.states[slot] = SlotState.cancelled;
    this.fns[slot] = undefined;
    this.live--;
    // Queued slots are freed when they reach the heap top; held ones at resume or cancelOwner.
    return true;
  }

  /** Cancel every pending and held event of an owner (a crash). Returns how many. O(pending). */
  cancelOwner(owner: string): number {
    let n = 0;
    for (let i = 0; i < this.heapSize; i++) {
      const slot = this.heap[i];
      if (this.states[slot] === SlotState.queued && this.owners[slot] === owner) {
        this.states[slot] = SlotState.cancelled;
        this.fns[slot] = undefined;
        this.live--;
        n++;
      }
    }
    const heldSlots = this.held.get(owner);
    if (heldSlots !== undefined) {
      for (const slot of heldSlots) {
        if (this.states[slot] === SlotState.held) {
          this.live--;
          n++;
        }
        this.freeSlot(slot);
      }
      heldSlots.length = 0;
    }
    return n;
  }

  /** Events pending (queued or held, not cancelled). */
  pending(): number {
    return this.live;
  }

  /** Hold the owner's events from now on. Idempotent. */
  pause(owner: string): void {
    if (!this.held.has(owner)) this.held.set(owner, []);
  }

  /** Release the owner's held events: they run at the current time, in their original order. */
  resume(owner: string): void {
    const heldSlots = this.held.get(owner);
    if (heldSlots === undefined) return;
    this.held.delete(owner);
    for (const slot of heldSlots) {
      if (this.states[slot] === SlotState.cancelled) {
        this.freeSlot(slot);
        continue;
      }
      this.states[slot] = SlotState.queued;
      this.times[slot] = this.nowMs;
      this.seqs[slot] = this.nextSeq++;
      this.heapPush(slot);
    }
  }

  isPaused(owner: string): boolean {
    return this.held.has(owner);
  }

  /** Events currently held for a paused owner. */
  heldCount(owner: string): number {
    const heldSlots = this.held.get(owner);
    if (heldSlots === undefined) return 0;
    let n = 0;
    for (const slot of heldSlots) if (this.states[slot] === SlotState.held) n++;
    return n;
  }

  /** Every event scheduled for owner from now on runs extraMs later (0 clears). */
  setOwnerDelay(owner: string, extraMs: number): void {
    assert(extraMs >= 0 && Number.isFinite(extraMs), `bad owner delay ${extraMs}`);
    if (extraMs === 0) this.ownerDelaysMs.delete(owner);
    else this.ownerDelaysMs.set(owner, extraMs);
  }

  ownerDelay(owner: string): number {
    return this.ownerDelaysMs.get(owner) ?? 0;
  }

  /** Time of the next queued event, or undefined if none (held events are not counted). */
  nextEventTimeMs(): number | undefined {
    while (this.heapSize > 0) {
      const slot = this.heap[0];
      if (this.states[slot] !== SlotState.cancelled) return this.times[slot];
      this.heapPop();
      this.freeSlot(slot);
    }
    return undefined;
  }

  /** Run every event due at or before timeMs, then set the clock to timeMs. */
  runUntil(timeMs: number): void {
    assert(timeMs >= this.nowMs, `runUntil(${timeMs}) is in the past (now ${this.nowMs})`);
    while (this.runNext(timeMs)) {
      /* keep going */
    }
    this.nowMs = timeMs;
  }

  runFor(durationMs: number): void {
    assert(durationMs >= 0, `negative duration ${durationMs}`);
    this.runUntil(this.nowMs + durationMs);
  }

  /**
   * Run events until pred() holds (checked before the first event and after
   * each one) or maxMs of virtual time pass. Returns whether pred became true;
   * on true the clock stays at the time of the event that made it true.
   */
  runUntilCondition(pred: () => boolean, maxMs: number): boolean {
    assert(maxMs >= 0, `negative maxMs ${maxMs}`);
    if (pred()) return true;
    const deadlineMs = this.nowMs + maxMs;
    while (this.runNext(deadlineMs)) {
      if (pred()) return true;
    }
    this.nowMs = deadlineMs;
    return pred();
  }

  /** Run queued events until none remain or maxEvents have run. Returns how many ran. */
  runUntilIdle(maxEvents: number): number {
    const start = this.eventsRun;
    while (this.eventsRun - start < maxEvents && this.runNext(Infinity)) {
      /* keep going */
    }
    return this.eventsRun - start;
  }

  /** Run the next event due at or before limitMs. Returns false if there is none. */
  runNext(limitMs: number): boolean {
    while (this.heapSize > 0) {
      const slot = this.heap[0];
      const t = this.times[slot];
      if (t > limitMs) return false;
      this.heapPop();
      const state = this.states[slot];
      if (state === SlotState.cancelled) {
        this.freeSlot(slot);
        continue;
      }
      const owner = this.owners[slot];
      if (owner !== undefined && this.held.size > 0 && this.holdable[slot] === 1) {
        const heldSlots = this.held.get(owner);
        if (heldSlots !== undefined) {
          this.states[slot] = SlotState.held;
          heldSlots.push(slot);
          continue;
        }
      }
      const fn = this.fns[slot] as () => void;
      this.freeSlot(slot);
      this.live--;
      this.nowMs = t;
      this.eventsRun++;
      fn();
      return true;
    }
    return false;
  }

  private push(timeMs: number, fn: () => void, owner: string | undefined, holdWhenPaused: boolean): number {
    assert(timeMs >= this.nowMs, `event at ${timeMs} is in the past (now ${this.nowMs})`);
    assert(timeMs !== Infinity && !Number.isNaN(timeMs), `bad event time ${timeMs}`);
    const slot = this.allocSlot();
    this.times[slot] = timeMs;
    this.seqs[slot] = this.nextSeq++;
    this.states[slot] = SlotState.queued;
    this.holdable[slot] = holdWhenPaused ? 1 : 0;
    this.fns[slot] = fn;
    this.owners[slot] = owner;
    this.live++;
    this.heapPush(slot);
    return this.gens[slot] * SLOT_SPACE + slot;
  }

  private allocSlot(): number {
    if (this.freeCount > 0) return this.freeSlots[--this.freeCount];
    if (this.slotsUsed === this.capacity) this.grow();
    return this.slotsUsed++;
  }

  private freeSlot(slot: number): void {
    this.states[slot] = SlotState.free;
    this.fns[slot] = undefined;
    this.owners[slot] = undefined;
    this.gens[slot] = (this.gens[slot] + 1) % GEN_MAX;
    this.freeSlots[this.freeCount++] = slot;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    assert(capacity <= SLOT_SPACE, `scheduler is full: more than ${SLOT_SPACE} events pending`);
    this.times = growF64(this.times, capacity);
    this.seqs = growF64(this.seqs, capacity);
    const gens = new Uint32Array(capacity);
    gens.set(this.gens);
    this.gens = gens;
    const states = new Uint8Array(capacity);
    states.set(this.states);
    this.states = states;
    const holdable = new Uint8Array(capacity);
    holdable.set(this.holdable);
    this.holdable = holdable;
    const freeSlots = new Int32Array(capacity);
    freeSlots.set(this.freeSlots);
    this.freeSlots = freeSlots;
    const heap = new Int32Array(capacity);
    heap.set(this.heap);
    this.heap = heap;
    for (let i = this.capacity; i < capacity; i++) {
      this.fns.push(undefined);
      this.owners.push(undefined);
    }
    this.capacity = capacity;
  }

  private less(a: number, b: number): boolean {
    const ta = this.times[a];
    const tb = this.times[b];
    return ta < tb || (ta === tb && this.seqs[a] < this.seqs[b]);
  }

  private heapPush(slot: number): void {
    const heap = this.heap;
    let i = this.heapSize++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent];
      if (!this.less(slot, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = slot;
  }

  private heapPop(): void {
    const heap = this.heap;
    const n = --this.heapSize;
    if (n === 0) return;
    const last = heap[n];
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.less(heap[right], heap[left]) ? right : left;
      if (!this.less(heap[child], last)) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = last;
  }
}

function growF64(a: Float64Array<ArrayBuffer>, capacity: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(capacity);
  b.set(a);
  return b;
}
