/**
 * checkPeer (identity.ts): whom a member talks to. Each refusal names its
 * reason; each acceptance is the rule's boundary (an empty cluster id on
 * either side, a known name that is dead or left, a name nobody knows).
 */
import test from 'ava';
import { checkPeer, type KnownMember, type NodeIdentity, type PeerVerdict } from '../../../src/cluster/identity.js';
import { RefuseReason } from '../../../src/cluster/kinds.js';

const local: NodeIdentity = { clusterLabel: 'prod', clusterId: 'cluster-a', name: 'n1', nodeId: 'id-n1', addr: '10.0.0.1:7946' };
const peer: NodeIdentity = { clusterLabel: 'prod', clusterId: 'cluster-a', name: 'n2', nodeId: 'id-n2', addr: '10.0.0.2:7946' };

function check(p: Partial<NodeIdentity>, options: { local?: Partial<NodeIdentity>; known?: Record<string, KnownMember> } = {}): PeerVerdict {
  const table = options.known ?? {};
  return checkPeer({ ...peer, ...p }, { local: { ...local, ...options.local }, known: (name) => table[name] });
}

function refusedFor(v: PeerVerdict): RefuseReason | undefined {
  return v.ok ? undefined : v.reason;
}

test('a peer of the same cluster that nobody knows yet is accepted', (t) => {
  t.deepEqual(check({}), { ok: true });
  t.deepEqual(check({ name: 'n9', nodeId: 'id-n9' }, { known: { n2: { nodeId: 'id-other', live: true } } }), { ok: true });
});

test('another cluster label is refused, in both directions and against no label', (t) => {
  for (const [theirs, ours] of [
    ['staging', 'prod'],
    ['', 'prod'],
    ['prod', ''],
    ['Prod', 'prod'],
  ]) {
    const v = check({ clusterLabel: theirs }, { local: { clusterLabel: ours } });
    t.is(refusedFor(v), RefuseReason.ClusterLabel, `${theirs} vs ${ours}`);
    if (!v.ok) t.true(v.message.includes(`"${theirs}"`) && v.message.includes(`"${ours}"`), v.message);
  }
});

test('another cluster id is refused when both sides have one', (t) => {
  const v = check({ clusterId: 'cluster-b' });
  t.is(refusedFor(v), RefuseReason.ClusterId);
  if (!v.ok) t.true(v.message.includes('cluster-b') && v.message.includes('cluster-a'), v.message);
});

test('an empty cluster id on either side is accepted (a member before bootstrap)', (t) => {
  t.true(check({ clusterId: '' }).ok, 'peer without id');
  t.true(check({}, { local: { clusterId: '' } }).ok, 'local without id');
  t.true(check({ clusterId: '' }, { local: { clusterId: '' } }).ok, 'neither');
});

test("this member's own name is refused, with its own node id (a loop) or another one (a twin)", (t) => {
  const loop = check({ name: local.name, nodeId: local.nodeId });
  t.is(refusedFor(loop), RefuseReason.SelfName);
  if (!loop.ok) t.regex(loop.message, /itself/);
  const twin = check({ name: local.name, nodeId: 'id-other' });
  t.is(refusedFor(twin), RefuseReason.SelfName);
  if (!twin.ok) t.true(twin.message.includes('id-other') && twin.message.includes(local.nodeId), twin.message);
});

test('a known live member presented with another node id is refused', (t) => {
  const v = check({ nodeId: 'id-new' }, { known: { n2: { nodeId: 'id-n2', live: true } } });
  t.is(refusedFor(v), RefuseReason.NodeId);
  if (!v.ok) t.true(v.message.includes('id-n2') && v.message.includes('id-new'), v.message);
});

test('a known live member with its own node id is accepted', (t) => {
  t.true(check({}, { known: { n2: { nodeId: 'id-n2', live: true } } }).ok);
});

test('a dead or left member may come back under a new node id', (t) => {
  t.true(check({ nodeId: 'id-new' }, { known: { n2: { nodeId: 'id-n2', live: false } } }).ok);
});

test('a known member whose node id is not known yet does not block its name', (t) => {
  t.true(check({ nodeId: 'id-new' }, { known: { n2: { nodeId: '', live: true } } }).ok);
});

test('the label is checked before the cluster id, the cluster id before the name', (t) => {
  // A peer wrong in every way is refused for the most basic reason: it is not of this cluster.
  const all = { clusterLabel: 'other', clusterId: 'cluster-b', name: local.name };
  t.is(refusedFor(check(all)), RefuseReason.ClusterLabel);
  t.is(refusedFor(check({ ...all, clusterLabel: local.clusterLabel })), RefuseReason.ClusterId);
  t.is(refusedFor(check({ ...all, clusterLabel: local.clusterLabel, clusterId: local.clusterId })), RefuseReason.SelfName);
});
