import test from 'ava';
import { CrashFs } from '../../../src/sim/crash-fs.js';
import { SeededRng } from '../../../src/util/rng.js';
import { isShoalError } from '../../../src/util/errors.js';

const bytes = (...xs: number[]): Uint8Array => new Uint8Array(xs);

test('synced bytes survive a crash; unsynced ones survive only as a prefix', async (t) => {
  for (let seed = 1; seed <= 40; seed++) {
    const fs = new CrashFs();
    await fs.mkdir('/d');
    const h = await fs.open('/d/f', { create: true });
    await fs.fsyncDir('/d');
    await h.append(bytes(1, 2, 3));
    await h.sync();
    await h.append(bytes(4, 5, 6, 7));
    fs.crash(new SeededRng(seed));
    const after = await fs.readFile('/d/f');
    t.true(after.length >= 3 && after.length <= 7, `seed ${seed}`);
    t.deepEqual([...after], [1, 2, 3, 4, 5, 6, 7].slice(0, after.length), `seed ${seed}`);
  }
});

test('a created file vanishes in a crash unless its directory was fsynced', async (t) => {
  const fs = new CrashFs();
  await fs.mkdir('/d');
  const h = await fs.open('/d/a', { create: true });
  await h.append(bytes(1));
  await h.sync();
  fs.crash(new SeededRng(1));
  t.false(await fs.exists('/d/a'));
  const h2 = await fs.open('/d/b', { create: true });
  await fs.fsyncDir('/d');
  await h2.append(bytes(1));
  await h2.sync();
  fs.crash(new SeededRng(1));
  t.deepEqual([...(await fs.readFile('/d/b'))], [1]);
});

test('rename and unlink are durable only after fsyncDir', async (t) => {
  const fs = new CrashFs();
  await fs.mkdir('/d');
  const h = await fs.open('/d/x.tmp', { create: true });
  await h.append(bytes(7));
  await h.sync();
  await fs.fsyncDir('/d');
  await fs.rename('/d/x.tmp', '/d/x');
  fs.crash(new SeededRng(2));
  t.deepEqual(await fs.readdir('/d'), ['x.tmp']);
  await fs.rename('/d/x.tmp', '/d/x');
  await fs.fsyncDir('/d');
  await fs.unlink('/d/x');
  fs.crash(new SeededRng(2));
  t.deepEqual(await fs.readdir('/d'), ['x']);
});

test('haltAfterOps stops at the n-th mutating op and old handles die with the crash', async (t) => {
  const fs = new CrashFs();
  await fs.mkdir('/d');
  const h = await fs.open('/d/f', { create: true }); // op 1
  fs.haltAfterOps = 2;
  await h.append(bytes(1)); // op 2
  const err = await t.throwsAsync(h.sync());
  t.true(isShoalError(err, 'ERR_STORAGE_IO'));
  t.true(fs.isHalted);
  await t.throwsAsync(fs.readdir('/d'));
  fs.crash(new SeededRng(3));
  t.false(fs.isHalted);
  await t.throwsAsync(h.append(bytes(2)));
  t.deepEqual(await fs.readdir('/d'), []);
});

test('truncate is recorded in order with writes', async (t) => {
  const fs = new CrashFs();
  await fs.mkdir('/d');
  const h = await fs.open('/d/f', { create: true });
  await fs.fsyncDir('/d');
  await h.append(bytes(1, 2, 3, 4));
  await h.sync();
  await h.truncate(2);
  await h.append(bytes(9));
  t.deepEqual([...(await fs.readFile('/d/f'))], [1, 2, 9]);
  const seen = new Set<string>();
  for (let seed = 1; seed <= 30; seed++) {
    const c = new CrashFs();
    await c.mkdir('/d');
    const g = await c.open('/d/f', { create: true });
    await c.fsyncDir('/d');
    await g.append(bytes(1, 2, 3, 4));
    await g.sync();
    await g.truncate(2);
    await g.append(bytes(9));
    c.crash(new SeededRng(seed));
    seen.add((await c.readFile('/d/f')).join(','));
  }
  t.deepEqual([...seen].sort(), ['1,2', '1,2,3,4', '1,2,9']);
});
