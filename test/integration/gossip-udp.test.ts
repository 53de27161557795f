import test from 'ava';
import { Agent } from '../../src/agent/agent.js';
import type { MemberView } from '../../src/api/types.js';
import { waitUntil } from './wait.js';

const AGENTS = 24;
const CONVERGE_TIMEOUT_MS = 45_000;
const DETECT_TIMEOUT_MS = 60_000;
/**
 * The local preset retransmits each update only 2 * ceil(log10(n+1)) times (memberlist's choice);
 * with 23 concurrent joins a few alive messages then miss a node and only the next push-pull (15 s)
 * repairs it. The LAN multiplier makes the epidemic itself reach everyone, keeping the test short.
 */
const gossip = { retransmitMult: 4 };

function stateOf(view: MemberView[], name: string): string | undefined {
  return view.find((m) => m.name === name)?.state;
}

test(`${AGENTS} agents on real UDP converge; one that vanishes is marked dead by every other`, async (t) => {
  const agents: Agent[] = [];
  t.teardown(() => Promise.all(agents.map((a) => a.stop({ leave: false }))));
  const seed = await Agent.start({ name: 'agent-0', bind: '127.0.0.1:0', preset: 'local', gossip });
  agents.push(seed);
  const others = await Promise.all(
    Array.from({ length: AGENTS - 1 }, (_, i) =>
      Agent.start({ name: `agent-${i + 1}`, bind: '127.0.0.1:0', preset: 'local', gossip, join: [seed.addr] }),
    ),
  );
  agents.push(...others);

  const joinedAt = Date.now();
  const converged = await waitUntil(
    () => agents.every((a) => a.members().filter((m) => m.state === 'alive').length === AGENTS),
    CONVERGE_TIMEOUT_MS,
  );
  t.log(`${AGENTS} agents converged ${Date.now() - joinedAt} ms after the joins returned`);
  t.true(converged, `not converged: alive counts ${agents.map((a) => a.numAlive()).join(',')}`);
  // Every view holds every name exactly once.
  for (const a of agents) {
    t.deepEqual(new Set(a.members().map((m) => m.name)).size, AGENTS);
  }

  // Stop one without leaving: its sockets close and it says nothing.
  const victim = agents[AGENTS - 1];
  const survivors = agents.slice(0, -1);
  const failedEvents = new Set<string>();
  for (const a of survivors) a.on('member-failed', (m) => m.name === victim.name && failedEvents.add(a.name));
  const stoppedAt = Date.now();
  await victim.stop({ leave: false });

  const detected = await waitUntil(
    () =>
      survivors.every((a) => {
        const view = a.members();
        return stateOf(view, victim.name) === 'dead' && view.filter((m) => m.state === 'alive').length === AGENTS - 1;
      }),
    DETECT_TIMEOUT_MS,
  );
  const views = survivors.map((a) => `${a.name}:${stateOf(a.members(), victim.name)}/${a.numAlive()}`);
  t.true(detected, `victim states: ${views.join(' ')}`);
  t.is(failedEvents.size, survivors.length, 'every survivor emitted member-failed');
  t.log(`failure detected by all ${survivors.length} survivors in ${Date.now() - stoppedAt} ms`);
});
