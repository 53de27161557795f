import test from 'ava';
import * as os from 'node:os';
import { validateAgentConfig, buildGossipConfig, type AgentConfig } from '../../../src/agent/config.js';
import { ErrorCode, isShoalError, ShoalError } from '../../../src/util/errors.js';

test('defaults: host name, 0.0.0.0:7946, lan, no HTTP, no seeds', (t) => {
  const c = validateAgentConfig({});
  t.is(c.name, os.hostname());
  t.deepEqual(c.bind, { host: '0.0.0.0', port: 7946 });
  t.is(c.preset, 'lan');
  t.is(c.http, undefined);
  t.deepEqual(c.join, []);
  t.is(c.joinTimeoutMs, 10_000);
});

const bad: [string, AgentConfig, string][] = [
  ['empty name', { name: '' }, 'name'],
  ['name with space', { name: 'a b' }, 'name'],
  ['bind without port', { bind: '127.0.0.1' }, 'bind'],
  ['bind port too large', { bind: '127.0.0.1:65536' }, 'bind'],
  ['advertise port 0', { advertise: '10.0.0.1:0' }, 'advertise'],
  ['join not a list', { join: '127.0.0.1:1' as unknown as string[] }, 'join'],
  ['join entry bad', { join: ['127.0.0.1:1', 'nope'] }, 'join[1]'],
  ['unknown preset', { preset: 'fast' as 'lan' }, 'preset'],
  ['tags not strings', { tags: { a: 1 as unknown as string } }, 'tags'],
  ['tags too big', { tags: { big: 'x'.repeat(600) } }, 'tags'],
  ['tags that leave no room for the agent\'s own', { tags: { big: 'x'.repeat(400) } }, 'tags'],
  ['gossip override out of range', { gossip: { probeIntervalMs: 0 } }, 'probeIntervalMs'],
  ['gossip timeout not below interval', { gossip: { probeIntervalMs: 100, probeTimeoutMs: 200 } }, 'probeTimeoutMs'],
  ['negative join timeout', { joinTimeoutMs: -1 }, 'joinTimeoutMs'],
];

for (const [what, config, field] of bad) {
  test(`rejected with ERR_INVALID_CONFIG naming the field: ${what}`, (t) => {
    const err = t.throws(() => validateAgentConfig(config));
    t.true(isShoalError(err, ErrorCode.InvalidConfig), String(err));
    t.is((err as ShoalError).details?.field, field);
    t.regex(err!.message, /^invalid config: /);
  });
}

test('preset, then overrides, then identity shape the gossip config', (t) => {
  const c = validateAgentConfig({ name: 'n1', preset: 'wan', gossip: { gossipNodes: 7 }, tags: { role: 'db' } });
  const g = buildGossipConfig(c, '10.0.0.1:7946');
  t.is(g.probeIntervalMs, 5_000, 'from the wan preset');
  t.is(g.gossipNodes, 7, 'override wins');
  t.is(g.name, 'n1');
  t.is(g.advertiseAddr, '10.0.0.1:7946');
  t.deepEqual(g.tags, { role: 'db' });
  const local = buildGossipConfig(validateAgentConfig({ name: 'n1', preset: 'local' }), '127.0.0.1:1');
  t.is(local.probeTimeoutMs, 200);
});
