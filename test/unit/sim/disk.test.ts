import test from 'ava';
import { SimDisk } from '../../../src/sim/disk.js';
import { SeededRng } from '../../../src/util/rng.js';
import { isShoalError } from '../../../src/util/errors.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

test('write, append, read, truncate behave like a file', (t) => {
  const d = new SimDisk();
  t.is(d.append('/data/log', enc('hello')), 0);
  t.is(d.append('/data/log', enc(' world')), 5);
  d.write('/data/log', 0, enc('J'));
  t.is(dec(d.readFile('/data/log')), 'Jello world');
  t.is(dec(d.read('/data/log', 6, 100)), 'world');
  d.write('/data/gap', 3, enc('x'));
  t.deepEqual([...d.readFile('/data/gap')], [0, 0, 0, 120]);
  d.truncate('/data/log', 5);
  t.is(dec(d.readFile('/data/log')), 'Jello');
  d.truncate('/data/log', 7);
  t.deepEqual([...d.readFile('/data/log')].slice(5), [0, 0], 'extending truncate zero-fills (no stale bytes)');
  t.is(d.size('/data/log'), 7);
  t.deepEqual(d.list('/data'), ['gap', 'log']);
  t.is(d.usedSizeBytes, 11);
});

test('crash keeps fsynced bytes and loses unsynced ones (no torn tail)', (t) => {
  const d = new SimDisk({ metadata: 'immediate' });
  d.append('/wal', enc('AAAA'));
  d.fsync('/wal');
  d.append('/wal', enc('BBBB'));
  d.write('/wal', 0, enc('ZZ')); // unsynced overwrite of synced bytes
  t.is(d.unsyncedBytes('/wal'), 8);
  d.crash(new SeededRng(1), { tornTail: false });
  t.is(dec(d.readFile('/wal')), 'AAAA');
  t.is(d.unsyncedBytes('/wal'), 0);
  t.is(d.stats.crashes, 1);
  // after the crash the file works normally
  d.append('/wal', enc('CC'));
  d.fsync('/wal');
  d.crash(new SeededRng(2));
  t.is(dec(d.readFile('/wal')), 'AAAACC');
});

test('torn tail: a crash keeps a random prefix of the unsynced tail, never more, never synced bytes changed', (t) => {
  const lengths = new Set<number>();
  for (let seed = 0; seed < 40; seed++) {
    const d = new SimDisk({ metadata: 'immediate' });
    d.append('/wal', enc('synced|'));
    d.fsync('/wal');
    d.append('/wal', enc('0123456789'));
    d.crash(new SeededRng(seed));
    const s = dec(d.readFile('/wal'));
    t.true(s.startsWith('synced|'));
    t.true('synced|0123456789'.startsWith(s), `kept a prefix: ${s}`);
    lengths.add(s.length);
  }
  t.true(lengths.size > 5, `torn lengths vary with the seed: ${[...lengths].join(',')}`);
});

test('new files and renames need fsyncDir to survive a crash', (t) => {
  const d = new SimDisk();
  d.append('/db/snap.tmp', enc('snapshot'));
  d.fsync('/db/snap.tmp');
  d.crash(new SeededRng(1));
  t.false(d.exists('/db/snap.tmp'), 'created but directory never synced: gone');

  d.append('/db/snap.tmp', enc('snapshot'));
  d.fsync('/db/snap.tmp');
  d.fsyncDir('/db');
  d.rename('/db/snap.tmp', '/db/snap');
  d.crash(new SeededRng(1));
  t.deepEqual(d.list('/db'), ['snap.tmp'], 'rename not durable without fsyncDir');

  d.rename('/db/snap.tmp', '/db/snap');
  d.fsyncDir('/db');
  d.crash(new SeededRng(1));
  t.deepEqual(d.list('/db'), ['snap']);
  t.is(dec(d.readFile('/db/snap')), 'snapshot');

  d.unlink('/db/snap');
  d.crash(new SeededRng(1));
  t.true(d.exists('/db/snap'), 'unlink not durable without fsyncDir');
});

test('errors are StorageIo ShoalErrors: missing files, injected faults, capacity', (t) => {
  const d = new SimDisk({ capacityBytes: 10, filesMax: 2, metadata: 'immediate' });
  const missing = t.throws(() => d.readFile('/nope'));
  t.true(isShoalError(missing, 'ERR_STORAGE_IO'));
  d.append('/a', enc('12345'));
  d.failNext('fsync');
  t.throws(() => d.fsync('/a'), { message: /injected/ });
  t.notThrows(() => d.fsync('/a'), 'only the next one fails');
  const full = t.throws(() => d.append('/a', enc('123456')));
  t.is((full as { details?: { errno?: string } }).details?.errno, 'ENOSPC');
  t.is(d.size('/a'), 5, 'a refused write changes nothing');
  d.append('/b', enc('1'));
  t.throws(() => d.append('/c', enc('1')), { message: /more than 2 files/ });
  t.is(d.stats.ioErrors, 3);
});
