/**
 * Which data directory a Raft member's name stands for. Raft knows members
 * by name, but a member restarted with a wiped data directory comes back
 * under its old name with an empty log and a new node id: if it voted, or
 * counted toward a quorum, under the old identity, an entry acknowledged by
 * the old one could be lost (it is gone from the wiped disk). So:
 *
 *  - the leader records each member's node id in the store, under the
 *    reserved key `shoal/identity/NAME`, before it adds the member to the
 *    Raft configuration (and adopts the ids of members already in it);
 *  - a member whose gossip node id differs from its record while it is in the
 *    configuration has been wiped: the leader removes it, records the new id,
 *    and autopilot adds it back as a learner that catches up and is promoted
 *    like any new member;
 *  - a member that joined with an empty log (ControlInit.fresh) neither votes
 *    nor campaigns until it has applied the record of its own node id, which
 *    the leader writes only once the old identity is out of the
 *    configuration.
 * Pure: the store and the gossip view come in as arguments.
 */
import type { MemberInfo } from '../gossip/events.js';
import { MemberState } from '../gossip/messages.js';
import { TAG_NODE_ID } from '../cluster/identity.js';
import type { ConfigStore } from './store/config-store.js';
import { isVoterEligible } from './autopilot/tags.js';

export const identityPrefix = 'shoal/identity/';

export const identityKey = (name: string): string => identityPrefix + name;

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** The node id the store records for `name`, or undefined. */
export function recordedIdentity(store: ConfigStore, name: string): string | undefined {
  const kv = store.get(identityKey(name));
  return kv === undefined ? undefined : utf8.decode(kv.value);
}

export interface IdentityPlan {
  /** Records to write (a member first seen, or a wiped one now out of the configuration). */
  writes: { name: string; nodeId: string }[];
  /** Members of the configuration whose data directory changed: to be removed first. */
  replaced: string[];
}

/**
 * What the leader does about identities now. Considers the members of the
 * configuration and the alive eligible members autopilot may add; `self` (the
 * leader) is never replaced from here.
 */
export function planIdentities(store: ConfigStore, self: string, members: readonly MemberInfo[], inConf: ReadonlySet<string>): IdentityPlan {
  const plan: IdentityPlan = { writes: [], replaced: [] };
  for (const m of members) {
    const nodeId = m.tags[TAG_NODE_ID];
    if (nodeId === undefined || nodeId === '' || m.name === self) continue;
    const alive = m.state === MemberState.Alive;
    const member = inConf.has(m.name);
    if (!member && !(alive && isVoterEligible(m.tags))) continue;
    const recorded = recordedIdentity(store, m.name);
    if (recorded === nodeId) continue;
    if (recorded === undefined || !member) plan.writes.push({ name: m.name, nodeId });
    else if (alive) plan.replaced.push(m.name);
  }
  return plan;
}

/** May autopilot add this member (its record matches its data directory)? */
export function identityRecorded(store: ConfigStore, m: MemberInfo): boolean {
  const nodeId = m.tags[TAG_NODE_ID];
  // A member without a node id (an older agent) is added as before.
  return nodeId === undefined || recordedIdentity(store, m.name) === nodeId;
}
