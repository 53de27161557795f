/**
 * Histories produced by a real atomic key/value register, so they
 * are linearizable by construction. Each operation takes effect at a random
 * instant inside its [call, return] interval; unknown-outcome operations take
 * effect at a random instant after their call, or never.
 */
import { History, type Operation } from './history.js';
import type { KvInput, KvOutput } from './linearizability-kv.js';
import type { Rng } from '../util/rng.js';

export interface RegisterHistoryOptions {
  clients: number;
  keys: number;
  opsPerClient: number;
  maxDurationMs: number;
  /** Probability an operation ends with an unknown outcome. */
  infoProbability: number;
}

interface Planned {
  clientId: string;
  input: KvInput;
  callMs: number;
  returnMs: number;
  /** Infinity: never takes effect. */
  effectMs: number;
  info: boolean;
  output?: KvOutput;
}

export function registerHistory(rng: Rng, o: RegisterHistoryOptions): Operation<KvInput, KvOutput>[] {
  const planned: Planned[] = [];
  const written = new Map<string, string[]>();
  for (let c = 0; c < o.clients; c++) {
    let cursorMs = rng.int(10);
    for (let n = 0; n < o.opsPerClient; n++) {
      const key = `k${rng.int(o.keys)}`;
      const seen = written.get(key) ?? [];
      const value = `c${c}-${n}`;
      const pick = rng.int(10);
      let input: KvInput;
      if (pick < 4) input = { op: 'get', key };
      else if (pick < 7) input = { op: 'put', key, value };
      else if (pick < 8) input = { op: 'delete', key };
      else input = { op: 'cas', key, expected: seen.length === 0 || rng.int(4) === 0 ? null : seen[rng.int(seen.length)], value };
      if (input.op === 'put' || input.op === 'cas') written.set(key, [...seen, value]);
      const callMs = cursorMs + rng.int(5);
      const returnMs = callMs + 1 + rng.int(o.maxDurationMs);
      const info = rng.next() < o.infoProbability;
      const effectMs = info
        ? rng.int(2) === 0 ? Infinity : callMs + rng.next() * o.maxDurationMs * 3
        : callMs + rng.next() * (returnMs - callMs);
      planned.push({ clientId: `c${c}`, input, callMs, returnMs, effectMs, info });
      cursorMs = returnMs;
    }
  }
  const state = new Map<string, string>();
  for (const p of [...planned].sort((a, b) => a.effectMs - b.effectMs)) {
    if (p.effectMs === Infinity) break;
    const current = state.get(p.input.key) ?? null;
    switch (p.input.op) {
      case 'get':
        p.output = { op: 'get', value: current };
        break;
      case 'put':
        state.set(p.input.key, p.input.value);
        p.output = { op: 'put' };
        break;
      case 'delete':
        state.delete(p.input.key);
        p.output = { op: 'delete' };
        break;
      case 'cas': {
        const ok = current === p.input.expected;
        if (ok) state.set(p.input.key, p.input.value);
        p.output = { op: 'cas', ok };
        break;
      }
    }
  }
  // Record in time order of events, as a live recorder would.
  const history = new History<KvInput, KvOutput>();
  const events: { timeMs: number; isCall: boolean; p: Planned }[] = [];
  for (const p of planned) {
    events.push({ timeMs: p.callMs, isCall: true, p });
    events.push({ timeMs: p.returnMs, isCall: false, p });
  }
  events.sort((a, b) => a.timeMs - b.timeMs || Number(a.isCall) - Number(b.isCall));
  const ids = new Map<Planned, number>();
  for (const e of events) {
    if (e.isCall) ids.set(e.p, history.invoke(e.p.clientId, e.p.input, e.timeMs));
    else if (e.p.info) history.info(ids.get(e.p)!, e.timeMs);
    else history.ok(ids.get(e.p)!, e.p.output!, e.timeMs);
  }
  return history.forChecking();
}
