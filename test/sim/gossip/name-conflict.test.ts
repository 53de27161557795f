import test, { type ExecutionContext } from 'ava';
import { makeSimTest } from '../../../src/sim/seed.js';
import { MemberState } from '../../../src/gossip/messages.js';
import { cluster, formCluster, summary } from './helpers.js';

const simTest = makeSimTest<ExecutionContext>(test);

/**
 * A second node with the name of a live member and another address joins: it
 * must not take the name over. Every original member keeps seeing the name
 * alive at the original address, before and after the impostor's gossip has
 * had time to spread, and somebody notices the conflict.
 */
simTest('a second node with a live name does not take it over', [61, 62, 63], (t, seed) => {
  const n = 12;
  const c = cluster(seed);
  const names = formCluster(c, n);
  const victim = names[3];
  const victimAddr = c.addrOf(victim);
  const impostorAddr = '10.99.0.1:7946';
  c.addNode(victim, { addr: impostorAddr });
  c.join(impostorAddr, [names[0], names[8]]);
  c.runFor(60_000);
  for (const o of names) {
    const m = c.membersSeenBy(o).find((x) => x.name === victim);
    t.truthy(m, `${o} still knows ${victim}`);
    t.is(m?.addr, victimAddr, `${o} sees ${victim} at ${m?.addr} (${summary(c)})`);
    t.is(m?.state, MemberState.Alive, `${o} sees ${victim} alive`);
  }
  t.true(c.log.count('name-conflict') > 0, 'the conflict was noticed');
  t.true(c.isLive(victim), 'the original is still running');
});
