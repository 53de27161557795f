/**
 * A control simulation is a pure function of its seed, although the shells
 * it runs are async: the same seed replays the same history, and draining
 * promise continuations after every event gives the same run as draining
 * only after the events marked as async (async-run.ts), so no continuation
 * slips to a later virtual time.
 */
import test from 'ava';
import { ControlClients } from '../../../src/sim/control-clients.js';
import { SeededRng } from '../../../src/util/rng.js';
import { formed, names, newCluster } from './helpers.js';

async function run(seed: number, drainEveryEvent: boolean): Promise<string> {
  const rng = new SeededRng(seed ^ 0xd0);
  const members = names('m', 5);
  const c = newCluster(seed, members, {
    control: { snapshotEveryEntries: 50 },
    cluster: { persistLatencyMinMs: 1, persistLatencyMaxMs: 8, link: { lossPercent: 2 }, drainEveryEvent },
  });
  c.startAll(members, { spreadMs: 1000 });
  await c.runUntil(() => formed(c, members), 30_000, 50);
  const clients = new ControlClients(c, rng.fork(), { keys: ['a', 'b'], thinkMs: 15, giveUpMs: 4000, readPercent: 40, casPercent: 30 });
  clients.start(3);
  await c.runFor(1000);
  c.crash(c.leader()!);
  await c.runFor(1500);
  c.partition(['m1', 'm2'], ['m3', 'm4', 'm5']);
  await c.runFor(1500);
  c.heal();
  c.pause('m4');
  await c.runFor(800);
  c.resume('m4');
  for (const m of members) if (!c.isLive(m)) c.start(m, [members.find((x) => c.isLive(x))!]);
  await c.runFor(2000);
  clients.stop();
  await c.runFor(4000);
  const ops = clients.history.all().map((op) => [op.clientId, op.input, op.output, op.status, op.callMs, op.returnMs]);
  return JSON.stringify({
    ops,
    leaders: c.leaderChanges,
    starts: c.starts,
    now: c.nowMs,
    events: c.scheduler.eventsRun,
    stores: members.map((m) => c.status(m)?.revision),
    net: c.network.totals,
  });
}

test.serial('a control simulation replays exactly by seed, and its async drains miss no continuation', async (t) => {
  const a = await run(21, false);
  const b = await run(21, false);
  t.is(b, a, 'same seed, same run');
  const everyEvent = await run(21, true);
  t.is(everyEvent, a, 'draining after every event changes nothing');
  t.not(await run(22, false), a, 'another seed, another run');
  const parsed = JSON.parse(a) as { ops: unknown[] };
  t.true(parsed.ops.length > 100, `${parsed.ops.length} ops`);
});
