import test from 'ava';
import { presets, validateGossipConfig, type GossipConfig } from '../../../src/gossip/config.js';
import { ErrorCode, isShoalError } from '../../../src/util/errors.js';

test('presets start from memberlist defaults', (t) => {
  const lan = presets.lan('a', '10.0.0.1:7946');
  t.like(lan, {
    probeIntervalMs: 1000,
    probeTimeoutMs: 500,
    indirectChecks: 3,
    suspicionMult: 4,
    suspicionMaxTimeoutMult: 6,
    retransmitMult: 4,
    gossipIntervalMs: 200,
    gossipNodes: 3,
    gossipToTheDeadMs: 30_000,
    pushPullIntervalMs: 30_000,
    awarenessMaxMultiplier: 8,
    packetMaxBytes: 1400,
    metaMaxBytes: 512,
    tcpFallbackPing: true,
  });
  const wan = presets.wan('a', '10.0.0.1:7946');
  t.like(wan, { probeIntervalMs: 5000, probeTimeoutMs: 3000, suspicionMult: 6, gossipNodes: 4, gossipIntervalMs: 500, pushPullIntervalMs: 60_000 });
  const local = presets.local('a', '127.0.0.1:7946');
  t.like(local, { probeTimeoutMs: 200, indirectChecks: 1, suspicionMult: 3, retransmitMult: 2, gossipIntervalMs: 100, pushPullIntervalMs: 15_000 });
  for (const p of [lan, wan, local]) t.deepEqual(validateGossipConfig(p), p, 'every preset is valid');
});

test('validation fills defaults from the LAN preset', (t) => {
  const c = validateGossipConfig({ name: 'a', advertiseAddr: '[::1]:7000', probeIntervalMs: 2000, gossipNodes: undefined });
  t.is(c.probeIntervalMs, 2000);
  t.is(c.probeTimeoutMs, 500);
  t.is(c.gossipNodes, 3);
  t.deepEqual(c.tags, {});
});

const bad: [Partial<GossipConfig>, string][] = [
  [{ name: '' }, 'name'],
  [{ advertiseAddr: 'nohost' }, 'advertiseAddr'],
  [{ probeIntervalMs: 0 }, 'probeIntervalMs'],
  [{ probeTimeoutMs: 1.5 }, 'probeTimeoutMs'],
  [{ indirectChecks: -1 }, 'indirectChecks'],
  [{ suspicionMult: 0 }, 'suspicionMult'],
  [{ retransmitMult: Number.NaN }, 'retransmitMult'],
  [{ awarenessMaxMultiplier: 0 }, 'awarenessMaxMultiplier'],
  [{ packetMaxBytes: 100 }, 'packetMaxBytes'],
  [{ broadcastQueueMax: 0 }, 'broadcastQueueMax'],
  [{ tcpFallbackPing: 'yes' as unknown as boolean }, 'tcpFallbackPing'],
  [{ tags: { a: 1 as unknown as string } }, 'tags'],
  [{ tags: { big: 'x'.repeat(600) } }, 'tags'],
  // bad pairs
  [{ probeTimeoutMs: 1000 }, 'probeTimeoutMs'], // not below probeIntervalMs
  [{ metaMaxBytes: 1024 }, 'metaMaxBytes'],
  [{ packetMaxBytes: 600, metaMaxBytes: 400 }, 'metaMaxBytes'],
  [{ reconnectTimeoutMs: 10_000, reapDeadAfterMs: 5_000 }, 'reconnectTimeoutMs'],
  [{ gossipToTheDeadMs: 10_000, reapDeadAfterMs: 5_000, reconnectTimeoutMs: 1000 }, 'gossipToTheDeadMs'],
  [{ gossipIntervalMs: 0 }, 'gossipIntervalMs'],
];

for (const [override, field] of bad) {
  test(`validation rejects ${JSON.stringify(override).slice(0, 60)} naming ${field}`, (t) => {
    const e = t.throws(() => validateGossipConfig({ name: 'a', advertiseAddr: '10.0.0.1:7946', ...override }));
    t.true(isShoalError(e, ErrorCode.InvalidConfig));
    t.is((e as { details?: { field?: string } }).details?.field, field);
    t.true(e?.message.includes(field));
  });
}
