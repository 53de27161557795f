import type { Address } from '../util/address.js';
import { assert } from '../util/assert.js';
import type { MemberInfo } from './events.js';
import type { MemberState, Tags } from './messages.js';
import { NameIndex } from './nameindex.js';

/**
 * Who a member is: name, address and tags. Treated as immutable and kept by
 * reference, so the table can hold the very object a message carried (an
 * AliveMsg or a PushNodeState): in a simulation that hands one message object
 * to every receiver, all cores then share it instead of copying three fields.
 */
export interface MemberIdentity {
  readonly name: string;
  readonly addr: Address;
  readonly tags: Tags;
}

/** This node's own row: always slot 0 (it is never removed). */
export const SELF_SLOT = 0;

/** Column capacity grows by this factor (typed arrays cannot grow in place). */
const GROWTH = 1.5;
const CAPACITY_MIN = 16;

/** Read access to the member rows, by slot (0 .. size-1; slot 0 is this node). */
export interface MemberRows {
  readonly size: number;
  /** The slot of name, or -1. Slots move when a member is removed: do not keep them. */
  slotOf(name: string): number;
  name(slot: number): string;
  addr(slot: number): Address;
  tags(slot: number): Tags;
  state(slot: number): MemberState;
  incarnation(slot: number): number;
  stateChangeMs(slot: number): number;
  /** A copy of the row. */
  info(slot: number): MemberInfo;
}

/**
 * The member rows as columns (struct of arrays): one identity reference, a
 * state byte and two float64s per member, plus a NameIndex entry. A row of
 * objects in a Map cost about 190 bytes per member; this about 50, which is
 * what lets one process simulate 10,000 cores of 10,000 members each. Rows are
 * dense: removing one moves the last into its place (the order NameSet used to
 * keep, so uniform random picks are one rng.int(size)).
 */
export class MemberStore implements MemberRows {
  private ids: MemberIdentity[] = [];
  private states = new Uint8Array(CAPACITY_MIN);
  private incarnations = new Float64Array(CAPACITY_MIN);
  private changedMs = new Float64Array(CAPACITY_MIN);
  private readonly index = new NameIndex((slot) => this.ids[slot].name);

  get size(): number {
    return this.ids.length;
  }

  slotOf(name: string): number {
    return this.index.get(name);
  }

  name(slot: number): string {
    return this.ids[slot].name;
  }

  addr(slot: number): Address {
    return this.ids[slot].addr;
  }

  tags(slot: number): Tags {
    return this.ids[slot].tags;
  }

  identity(slot: number): MemberIdentity {
    return this.ids[slot];
  }

  state(slot: number): MemberState {
    return this.states[slot] as MemberState;
  }

  incarnation(slot: number): number {
    return this.incarnations[slot];
  }

  stateChangeMs(slot: number): number {
    return this.changedMs[slot];
  }

  info(slot: number): MemberInfo {
    const id = this.ids[slot];
    return {
      name: id.name,
      addr: id.addr,
      state: this.states[slot] as MemberState,
      incarnation: this.incarnations[slot],
      tags: id.tags,
      stateChangeMs: this.changedMs[slot],
    };
  }

  /** Appends a row for a name not in the store; returns its slot. */
  add(id: MemberIdentity, state: MemberState, incarnation: number, stateChangeMs: number): number {
    assert(this.index.get(id.name) === -1, `member ${id.name} already in the table`);
    const slot = this.ids.length;
    if (slot >= this.states.length) this.grow(Math.ceil(this.states.length * GROWTH));
    this.ids.push(id);
    this.states[slot] = state;
    this.incarnations[slot] = incarnation;
    this.changedMs[slot] = stateChangeMs;
    this.index.set(id.name, slot);
    return slot;
  }

  /** Replaces the identity; the name must stay the same. */
  setIdentity(slot: number, id: MemberIdentity): void {
    assert(id.name === this.ids[slot].name, 'a row keeps its name');
    this.ids[slot] = id;
  }

  setIncarnation(slot: number, incarnation: number): void {
    this.incarnations[slot] = incarnation;
  }

  setState(slot: number, state: MemberState, nowMs: number): void {
    this.states[slot] = state;
    this.changedMs[slot] = nowMs;
  }

  /** Removes the row at slot; the last row moves into it. */
  remove(slot: number): void {
    assert(slot !== SELF_SLOT && slot < this.ids.length, `cannot remove slot ${slot}`);
    const last = this.ids.length - 1;
    this.index.delete(this.ids[slot].name);
    if (slot !== last) {
      const moved = this.ids[last];
      this.ids[slot] = moved;
      this.states[slot] = this.states[last];
      this.incarnations[slot] = this.incarnations[last];
      this.changedMs[slot] = this.changedMs[last];
      this.index.set(moved.name, slot); // still finds the entry: ids[last] names it too
    }
    this.ids.pop();
  }

  private grow(capacity: number): void {
    const states = new Uint8Array(capacity);
    states.set(this.states);
    this.states = states;
    const incarnations = new Float64Array(capacity);
    incarnations.set(this.incarnations);
    this.incarnations = incarnations;
    const changedMs = new Float64Array(capacity);
    changedMs.set(this.changedMs);
    this.changedMs = changedMs;
  }
}
