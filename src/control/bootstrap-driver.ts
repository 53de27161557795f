/**
 * Drives decideBootstrap (autopilot/bootstrap.ts) from the gossip view for a
 * member without Raft state: what to advertise in shoal.boot, when to commit
 * (the commitment is handed to the shell to persist before the tag goes
 * out), and when to start Raft: with the candidate voters (bootstrap) or
 * with an empty configuration (join the cluster whose id gossip shows).
 *
 * A 'bootstrap' decision reached without a commitment is taken as "commit
 * now": the member persists and advertises the committed tag first and
 * bootstraps only on a later decision made from the commitment, so every
 * member of a voter set has committed to it before any of them starts.
 */
import type { MemberInfo } from '../gossip/events.js';
import { decideBootstrap, type BootCommitment } from './autopilot/bootstrap.js';
import { candidateHash } from './autopilot/hash.js';
import { formatBootTag } from './autopilot/tags.js';

export type BootstrapOutcome =
  | { kind: 'none' }
  /** Start Raft: `voters` non-empty = bootstrap with them; empty = join an existing cluster. */
  | { kind: 'start'; voters: string[]; clusterId: string };

export class BootstrapDriver {
  commitment: BootCommitment | undefined;
  /** A commitment made and not yet handed to the shell (ControlReady.bootCommitment). */
  unpersistedCommitment: BootCommitment | undefined;
  /** The shoal.boot value to advertise, or undefined for none. */
  bootTag: string | undefined;
  /** What the last decision was, for status. */
  state = 'waiting for members';
  /** Cluster ids seen beside the one joined (a split brain to report). */
  otherClusterIds: string[] = [];

  constructor(
    private readonly name: string,
    private readonly eligible: boolean,
    private readonly bootstrapExpect: number,
    commitment: BootCommitment | undefined,
  ) {
    this.commitment = commitment;
    if (commitment !== undefined) this.bootTag = committedTag(commitment.candidate);
  }

  decide(members: readonly MemberInfo[]): BootstrapOutcome {
    const d = decideBootstrap({
      self: this.name,
      selfEligible: this.eligible,
      hasRaftState: false,
      bootstrapExpect: this.bootstrapExpect,
      members: members.map((m) => ({ name: m.name, state: m.state, tags: m.tags })),
      commitment: this.commitment,
    });
    switch (d.action) {
      case 'already-bootstrapped':
        return { kind: 'none' };
      case 'join-existing':
        this.state = `joining cluster ${d.clusterId}`;
        this.otherClusterIds = d.otherClusterIds;
        return { kind: 'start', voters: [], clusterId: d.clusterId };
      case 'wait':
        this.state = d.reason;
        if (this.commitment === undefined) this.bootTag = undefined;
        return { kind: 'none' };
      case 'propose':
        this.state = d.reason;
        if (d.committed && this.commitment === undefined) this.commit(d.candidate);
        else if (this.commitment === undefined) this.bootTag = d.bootTag;
        return { kind: 'none' };
      case 'bootstrap':
        if (this.commitment === undefined) {
          this.commit(d.voters);
          this.state = 'committed; waiting for the others to commit';
          return { kind: 'none' };
        }
        this.state = `bootstrapped with ${d.voters.join(', ')}`;
        return { kind: 'start', voters: d.voters, clusterId: d.clusterId };
    }
  }

  private commit(candidate: string[]): void {
    const sorted = [...candidate].sort();
    this.commitment = { candidate: sorted };
    this.unpersistedCommitment = this.commitment;
    this.bootTag = committedTag(sorted);
  }
}

function committedTag(candidate: readonly string[]): string {
  return formatBootTag({ candidateHash: candidateHash([...candidate].sort()), committed: true });
}
