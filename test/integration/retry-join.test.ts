/**
 * --retry-join: five agents started in random order within 2 s, all with
 * retryJoin to the first one's address (which may not be up yet), form one
 * cluster: no start order needed, as with Consul's retry_join.
 */
import test from 'ava';
import { Agent } from '../../src/agent/agent.js';
import { freePort } from '../support/control-cluster.js';
import { waitUntil } from './wait.js';

test('five agents started in random order within 2 s, all retrying to the first, form one cluster', async (t) => {
  const seedPort = await freePort();
  const seedAddr = `127.0.0.1:${seedPort}`;
  const agents: Agent[] = [];
  t.teardown(() => Promise.all(agents.map((a) => a.stop({ leave: false }))).then(() => undefined));
  const names = ['r0', 'r1', 'r2', 'r3', 'r4'];
  const order = [...names].sort(() => Math.random() - 0.5);
  t.log(`start order ${order.join(' ')}`);
  await Promise.all(
    order.map(async (name, i) => {
      await new Promise((r) => setTimeout(r, Math.floor((i / order.length) * 2000)));
      agents.push(await Agent.start({ name, bind: name === 'r0' ? seedAddr : '127.0.0.1:0', preset: 'local', retryJoin: [seedAddr] }));
    }),
  );
  t.true(await waitUntil(() => agents.length === 5 && agents.every((a) => a.members().filter((m) => m.state === 'alive').length === 5), 30_000), 'one cluster of five');
  t.true(agents.some((a) => a.retryJoinFailures > 0) || order[0] === 'r0', 'agents that started before the seed retried');
});
