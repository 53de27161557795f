import test from 'ava';
import {
  makeSimTest,
  replayCommand,
  SeedFailure,
  seedFromEnv,
  seedsFromEnv,
  withSeed,
} from '../../../src/sim/seed.js';
import { isShoalError } from '../../../src/util/errors.js';

test('seedFromEnv reads SHOAL_SEED (decimal or hex) and falls back to the default', (t) => {
  t.is(seedFromEnv(7, {}), 7);
  t.is(seedFromEnv(7, { SHOAL_SEED: '' }), 7);
  t.is(seedFromEnv(7, { SHOAL_SEED: '12345' }), 12345);
  t.is(seedFromEnv(7, { SHOAL_SEED: '0xff' }), 255);
  const e = t.throws(() => seedFromEnv(7, { SHOAL_SEED: 'abc' }));
  t.true(isShoalError(e, 'ERR_INVALID_CONFIG'));
  t.throws(() => seedFromEnv(7, { SHOAL_SEED: '4294967296' }));
});

test('seedsFromEnv: one seed, a count of seeds, or the defaults', (t) => {
  t.deepEqual(seedsFromEnv([1, 2, 3], {}), [1, 2, 3]);
  t.deepEqual(seedsFromEnv([1, 2, 3], { SHOAL_SEED: '9' }), [9]);
  t.deepEqual(seedsFromEnv([1, 2, 3], { SHOAL_SEEDS: '2' }), [1, 2]);
  const many = seedsFromEnv([1, 2, 3], { SHOAL_SEEDS: '50' });
  t.is(many.length, 50);
  t.deepEqual(many.slice(0, 3), [1, 2, 3]);
  t.is(new Set(many).size, 50, 'distinct');
  t.deepEqual(seedsFromEnv([1, 2, 3], { SHOAL_SEEDS: '50' }), many, 'deterministic');
  t.throws(() => seedsFromEnv([1], { SHOAL_SEEDS: '0' }));
});

test('withSeed passes results through and names the seed on failure', async (t) => {
  t.is(withSeed('ok', 5, (s) => s * 2), 10);
  const e = t.throws(
    () =>
      withSeed('ring converges', 424242, () => {
        throw new Error('two leaders in term 3');
      }, replayCommand(424242, 'test/sim/x.test.ts', 'ring converges seed=424242')),
    { instanceOf: SeedFailure },
  );
  t.regex(e.message, /seed=424242/);
  t.regex(e.message, /two leaders in term 3/);
  t.regex(e.message, /SHOAL_SEED=424242 npx ava test\/sim\/x\.test\.ts -m "ring converges seed=424242"/);
  t.is(e.seed, 424242);
  const ae = await t.throwsAsync(withSeed('async', 77, async () => Promise.reject(new Error('late'))));
  t.regex(ae.message, /seed=77.*late/);
  t.is(await withSeed('async ok', 1, async (s) => s + 1), 2);
});

test('makeSimTest registers one test per seed, titled with the seed, with a replay command on failure', async (t) => {
  const registered: Array<{ title: string; impl: (ctx: { log: (...v: unknown[]) => void }) => void | Promise<void> }> = [];
  const fakeTest = Object.assign(
    (title: string, impl: (ctx: { log: (...v: unknown[]) => void }) => void | Promise<void>) => {
      registered.push({ title, impl });
    },
    { meta: { file: `file://${process.cwd()}/test/sim/demo.test.ts` } },
  );
  const saved = { one: process.env.SHOAL_SEED, many: process.env.SHOAL_SEEDS };
  delete process.env.SHOAL_SEED;
  delete process.env.SHOAL_SEEDS;
  try {
    makeSimTest(fakeTest)('demo', [3, 4], (_ctx, seed) => {
      if (seed === 4) throw new Error('invariant broken');
    });
  } finally {
    if (saved.one !== undefined) process.env.SHOAL_SEED = saved.one;
    if (saved.many !== undefined) process.env.SHOAL_SEEDS = saved.many;
  }
  t.deepEqual(registered.map((r) => r.title), ['demo seed=3', 'demo seed=4']);
  const logs: unknown[] = [];
  const ctx = { log: (...v: unknown[]) => logs.push(...v) };
  await registered[0].impl(ctx);
  const e = await t.throwsAsync(async () => registered[1].impl(ctx));
  t.regex(e.message, /seed=4/);
  t.regex(e.message, /SHOAL_SEED=4 npx ava test\/sim\/demo\.test\.ts -m "demo seed=4"/);
  t.deepEqual(logs, ['replay: SHOAL_SEED=4 npx ava test/sim/demo.test.ts -m "demo seed=4"']);
});

test('makeSimTest with serial registers through test.serial, keeping the file for the replay command', (t) => {
  const plain: string[] = [];
  const serial: string[] = [];
  const fakeTest = Object.assign((title: string) => void plain.push(title), {
    serial: (title: string) => void serial.push(title),
    meta: { file: `file://${process.cwd()}/test/sim/demo.test.ts` },
  });
  const saved = { one: process.env.SHOAL_SEED, many: process.env.SHOAL_SEEDS };
  delete process.env.SHOAL_SEED;
  delete process.env.SHOAL_SEEDS;
  try {
    makeSimTest(fakeTest, { serial: true })('alone', [5], () => undefined);
    makeSimTest(fakeTest)('together', [6], () => undefined);
  } finally {
    if (saved.one !== undefined) process.env.SHOAL_SEED = saved.one;
    if (saved.many !== undefined) process.env.SHOAL_SEEDS = saved.many;
  }
  t.deepEqual(serial, ['alone seed=5']);
  t.deepEqual(plain, ['together seed=6']);
});
