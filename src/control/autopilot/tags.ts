/**
 * Gossip tags the control plane reads and writes. Tag values are strings and
 * the encoded tag map is bounded by the gossip config's metaMaxBytes, so every
 * value here is short (hashes are hex prefixes, not full digests).
 */
import type { Tags } from '../../gossip/messages.js';

/** "false" makes a member ineligible to be a voter; any other value, or no tag, leaves it eligible. */
export const TAG_VOTER = 'voter';
/** Failure domain (rack, availability zone). Members without it share the unnamed zone ''. */
export const TAG_ZONE = 'zone';
/** The cluster id, advertised by every member that belongs to a bootstrapped cluster. */
export const TAG_CLUSTER = 'shoal.cluster';
/** The bootstrap candidate set this member proposes or has committed to (see formatBootTag). */
export const TAG_BOOT = 'shoal.boot';
/** The member's committed config revision (decimal), so a lagging member notices. */
export const TAG_REVISION = 'shoal.rev';

export const isVoterEligible = (tags: Tags): boolean => tags[TAG_VOTER] !== 'false';

export const zoneOf = (tags: Tags): string => tags[TAG_ZONE] ?? '';

/** The cluster id a member advertises, or undefined (absent or empty). */
export const clusterIdOf = (tags: Tags): string | undefined => {
  const id = tags[TAG_CLUSTER];
  return id === undefined || id.length === 0 ? undefined : id;
};

/**
 * The shoal.boot value: `p:<hash>` while a member merely proposes a candidate
 * set, `c:<hash>` once it has committed to it (a commitment is never withdrawn).
 */
export interface BootTag {
  candidateHash: string;
  committed: boolean;
}

export const formatBootTag = (b: BootTag): string => `${b.committed ? 'c' : 'p'}:${b.candidateHash}`;

/** Parses a shoal.boot value; anything malformed reads as no proposal at all. */
export function parseBootTag(value: string | undefined): BootTag | undefined {
  if (value === undefined || value.length < 3 || value[1] !== ':') return undefined;
  const kind = value[0];
  if (kind !== 'p' && kind !== 'c') return undefined;
  return { candidateHash: value.slice(2), committed: kind === 'c' };
}
