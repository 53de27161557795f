import test from 'ava';
import fc from 'fast-check';
import { Scheduler } from '../../../src/sim/scheduler.js';

/**
 * The heap scheduler against a naive model (a list scanned for the minimum
 * (time, seq)) under random schedule / cancel / pause / resume / run steps.
 */
interface ModelEvent {
  timeMs: number;
  seq: number;
  label: number;
  owner: string | undefined;
  state: 'queued' | 'held' | 'done';
}

class Model {
  nowMs = 0;
  seq = 0;
  events: ModelEvent[] = [];
  paused = new Map<string, ModelEvent[]>();
  log: number[] = [];

  at(timeMs: number, label: number, owner: string | undefined): ModelEvent {
    const e: ModelEvent = { timeMs, seq: this.seq++, label, owner, state: 'queued' };
    this.events.push(e);
    return e;
  }
  cancel(e: ModelEvent): void {
    e.state = 'done';
  }
  pause(owner: string): void {
    if (!this.paused.has(owner)) this.paused.set(owner, []);
  }
  resume(owner: string): void {
    const held = this.paused.get(owner);
    if (held === undefined) return;
    this.paused.delete(owner);
    for (const e of held) {
      if (e.state !== 'held') continue;
      e.state = 'queued';
      e.timeMs = this.nowMs;
      e.seq = this.seq++;
    }
  }
  runUntil(limitMs: number): void {
    for (;;) {
      let best: ModelEvent | undefined;
      for (const e of this.events) {
        if (e.state !== 'queued' || e.timeMs > limitMs) continue;
        if (best === undefined || e.timeMs < best.timeMs || (e.timeMs === best.timeMs && e.seq < best.seq)) best = e;
      }
      if (best === undefined) break;
      const held = best.owner === undefined ? undefined : this.paused.get(best.owner);
      if (held !== undefined) {
        best.state = 'held';
        held.push(best);
        continue;
      }
      best.state = 'done';
      this.nowMs = best.timeMs;
      this.log.push(best.label);
    }
    this.nowMs = limitMs;
  }
  pending(): number {
    return this.events.filter((e) => e.state === 'queued' || e.state === 'held').length;
  }
}

const owners = ['a', 'b', 'c', undefined] as const;
const step = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('at' as const), delayMs: fc.integer({ min: 0, max: 50 }), owner: fc.constantFrom(...owners) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const), owner: fc.constantFrom('a', 'b', 'c') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resume' as const), owner: fc.constantFrom('a', 'b', 'c') }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('run' as const), forMs: fc.integer({ min: 0, max: 40 }) }) },
);

test('heap scheduler matches a naive model under random operations', (t) => {
  let heldCancels = 0;
  fc.assert(
    fc.property(fc.array(step, { minLength: 20, maxLength: 300, size: 'max' }), (steps) => {
      const s = new Scheduler();
      const m = new Model();
      const log: number[] = [];
      const ids: number[] = [];
      const modelEvents: ModelEvent[] = [];
      let label = 0;
      for (const st of steps) {
        switch (st.kind) {
          case 'at': {
            const l = label++;
            ids.push(s.at(s.nowMs + st.delayMs, () => log.push(l), st.owner));
            modelEvents.push(m.at(m.nowMs + st.delayMs, l, st.owner));
            break;
          }
          case 'cancel': {
            if (ids.length === 0) break;
            // mostly recent events: those are the ones still queued or held
            const i = ids.length - 1 - (st.pick % Math.min(ids.length, 8));
            const e = modelEvents[i];
            const wasPending = e.state === 'queued' || e.state === 'held';
            if (e.state === 'held') heldCancels++;
            if (s.cancel(ids[i]) !== wasPending) return false;
            m.cancel(e);
            break;
          }
          case 'pause':
            s.pause(st.owner);
            m.pause(st.owner);
            break;
          case 'resume':
            s.resume(st.owner);
            m.resume(st.owner);
            break;
          case 'run':
            s.runFor(st.forMs);
            m.runUntil(m.nowMs + st.forMs);
            break;
        }
        if (s.pending() !== m.pending() || s.nowMs !== m.nowMs) return false;
      }
      for (const o of ['a', 'b', 'c']) {
        s.resume(o);
        m.resume(o);
      }
      s.runFor(1000);
      m.runUntil(m.nowMs + 1000);
      return JSON.stringify(log) === JSON.stringify(m.log) && s.pending() === 0;
    }),
    { numRuns: 300, seed: 42 },
  );
  t.true(heldCancels > 10, `the runs cancelled held events (${heldCancels})`);
});
