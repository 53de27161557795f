import test, { type ExecutionContext } from 'ava';
import { ControlClients } from '../../../src/sim/control-clients.js';
import { CheckResult, checkLinearizable } from '../../../src/sim/linearizability.js';
import { kvModel } from '../../../src/sim/linearizability-kv.js';
import { makeSimTest } from '../../../src/sim/seed.js';
import { SeededRng } from '../../../src/util/rng.js';
import { formed, names, newCluster } from './helpers.js';

const simTest = makeSimTest<ExecutionContext>(test, { serial: true });

simTest('puts, linearizable gets and txn-CAS under leader kills are linearizable', [1, 2, 3, 4], async (t, seed) => {
  const members = names('m', 5);
  const c = newCluster(seed, members, { control: { snapshotEveryEntries: 150 } });
  c.startAll(members, { spreadMs: 1000 });
  t.true(await c.runUntil(() => formed(c, members) && c.configuration()!.voters.length === 3, 30_000, 50));
  await c.runFor(1000);
  const clients = new ControlClients(c, new SeededRng(seed ^ 0xc11e), {
    keys: ['a', 'b', 'c'],
    thinkMs: 20,
    giveUpMs: 4000,
    readPercent: 40,
    casPercent: 30,
  });
  clients.start(5);
  await c.runFor(2000);
  const first = c.leader()!;
  c.crash(first);
  await c.runFor(2500);
  const second = c.leader();
  if (second !== undefined) c.crash(second);
  await c.runFor(2500);
  c.start(first, [members.find((m) => c.isLive(m))!]);
  if (second !== undefined) c.start(second, [first]);
  await c.runFor(3000);
  clients.stop();
  await c.runFor(5000);
  const ops = clients.history.all();
  t.is(ops.filter((op) => op.status === 'pending').length, 0, 'every operation completed');
  t.true(clients.counters.ok > 100, `${clients.counters.ok} ok, ${clients.counters.info} info, ${clients.counters.fail} fail`);
  const report = checkLinearizable(kvModel, ops, { timeoutMs: 20_000 });
  t.log(`${ops.length} ops (${clients.counters.ok} ok, ${clients.counters.info} info, ${clients.counters.fail} fail): ${report.result} in ${report.elapsedMs.toFixed(0)} ms`);
  if (report.result === CheckResult.Illegal) t.log(report.explanation);
  t.is(report.result, CheckResult.Ok);
});

simTest('a history under partitions, pauses, crashes with unsynced writes lost, and restarts is linearizable', [5, 6, 7], async (t, seed) => {
  const rng = new SeededRng(seed ^ 0xfa17);
  const members = names('m', 5);
  const c = newCluster(seed, members, {
    control: { snapshotEveryEntries: 100 },
    cluster: { persistLatencyMinMs: 2, persistLatencyMaxMs: 8, tornWritePercent: 50, link: { lossPercent: 1 } },
  });
  c.startAll(members, { spreadMs: 1000 });
  t.true(await c.runUntil(() => formed(c, members) && c.configuration()!.voters.length === 3, 30_000, 50));
  await c.runFor(1000);
  const clients = new ControlClients(c, rng.fork(), { keys: ['a', 'b'], thinkMs: 15, giveUpMs: 4000, readPercent: 40, casPercent: 30 });
  clients.start(4);
  const faults: string[] = [];
  for (let round = 0; round < 6; round++) {
    const live = members.filter((m) => c.isLive(m));
    const victim = rng.int(2) === 0 ? (c.leader() ?? live[0]) : live[rng.int(live.length)];
    const kind = rng.int(3);
    if (kind === 2) {
      faults.push(`${c.nowMs.toFixed(0)}: pause ${victim}`);
      c.pause(victim);
      await c.runFor(1000 + rng.int(2000));
      c.resume(victim);
    } else if (kind === 1) {
      faults.push(`${c.nowMs.toFixed(0)}: partition ${victim}`);
      c.partition([victim], members.filter((m) => m !== victim));
      await c.runFor(1000 + rng.int(1500));
      c.heal();
    } else {
      faults.push(`${c.nowMs.toFixed(0)}: crash ${victim}`);
      c.crash(victim);
      await c.runFor(500 + rng.int(1500));
      c.start(victim, [members.find((m) => m !== victim && c.isLive(m))!]);
    }
    await c.runFor(1000 + rng.int(1000));
  }
  clients.stop();
  await c.runFor(6000);
  const ops = clients.history.all();
  t.is(ops.filter((op) => op.status === 'pending').length, 0, 'every operation completed');
  const report = checkLinearizable(kvModel, ops, { timeoutMs: 20_000 });
  t.log(`${faults.join('; ')}\n${ops.length} ops (${clients.counters.ok} ok, ${clients.counters.info} info, ${clients.counters.fail} fail): ${report.result}`);
  if (report.result === CheckResult.Illegal) t.log(report.explanation);
  t.is(report.result, CheckResult.Ok);
  t.true(clients.counters.ok > 100);
});
