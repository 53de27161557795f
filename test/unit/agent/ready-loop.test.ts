import test from 'ava';
import { ReadyLoop } from '../../../src/agent/ready-loop.js';

/** A fake core with `pending` Readys; each handled Ready takes one macrotask. */
function fakeCore(pending: number, failAt = -1) {
  const state = { pending, handled: [] as number[], errors: [] as unknown[], concurrent: 0, maxConcurrent: 0 };
  let next = 0;
  const loop = new ReadyLoop({
    hasReady: () => state.pending > 0,
    handleNext: async () => {
      const n = next++;
      state.pending--;
      state.concurrent++;
      state.maxConcurrent = Math.max(state.maxConcurrent, state.concurrent);
      await new Promise((r) => setImmediate(r));
      state.concurrent--;
      if (n === failAt) throw new Error(`ready ${n} failed`);
      state.handled.push(n);
    },
    onError: (e) => state.errors.push(e),
  });
  return { state, loop };
}

const settle = async (loop: ReadyLoop): Promise<void> => {
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setImmediate(r));
    await loop.idle();
  }
};

test('kicks coalesce into one run that drains every Ready in order, one at a time', async (t) => {
  const { state, loop } = fakeCore(5);
  for (let i = 0; i < 10; i++) loop.kick();
  await settle(loop);
  t.deepEqual(state.handled, [0, 1, 2, 3, 4]);
  t.is(state.maxConcurrent, 1);
  t.deepEqual(state.errors, []);
});

test('a Ready that arrives during a run is handled by a later run', async (t) => {
  const { state, loop } = fakeCore(1);
  loop.kick();
  await new Promise((r) => setImmediate(r));
  state.pending += 2; // new work while the first Ready is in progress
  loop.kick();
  await settle(loop);
  t.deepEqual(state.handled, [0, 1, 2]);
});

test('the first error stops the loop and is reported once', async (t) => {
  const { state, loop } = fakeCore(5, 1);
  loop.kick();
  await settle(loop);
  t.deepEqual(state.handled, [0]);
  t.is(state.errors.length, 1);
  loop.kick();
  await settle(loop);
  t.deepEqual(state.handled, [0], 'no run after an error');
});

test('stop() ends the loop after the Ready in progress', async (t) => {
  const { state, loop } = fakeCore(5);
  loop.kick();
  await new Promise((r) => setImmediate(r));
  loop.stop();
  await settle(loop);
  t.deepEqual(state.handled, [0], 'the Ready in progress finishes');
  t.is(state.pending, 4, 'no further Ready is taken');
});
