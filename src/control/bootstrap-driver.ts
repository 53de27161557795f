/**
 * Drives decideBootstrap (autopilot/bootstrap.ts) from the gossip view for a
 * member without Raft state: what to advertise in shoal.boot, when to commit
 * (the commitment is handed to the shell to persist before the tag goes
 * out), and when to start Raft: with the candidate voters (bootstrap) or
 * with an empty configuration (join the cluster whose id gossip shows).
 *
 * Every decision may carry a changed commitment (made, or released): it is
 * handed to the shell (ControlReady.bootCommitment) to persist before the
 * tag that announces it goes out, since both come in the same ready.
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

  constructor(
    private readonly name: string,
    private readonly eligible: boolean,
    private readonly bootstrapExpect: number,
    commitment: BootCommitment | undefined,
  ) {
    this.commitment = commitment;
    if (commitment !== undefined && !commitment.released) this.bootTag = committedTag(commitment.candidate);
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
        return { kind: 'start', voters: [], clusterId: d.clusterId };
      case 'wait':
        this.state = d.reason;
        this.keep(d.commitment);
        this.bootTag = undefined;
        return { kind: 'none' };
      case 'propose':
        this.state = d.reason;
        this.keep(d.commitment);
        this.bootTag = d.bootTag;
        return { kind: 'none' };
      case 'bootstrap':
        this.state = `bootstrapped with ${d.voters.join(', ')}`;
        this.bootTag = d.bootTag;
        return { kind: 'start', voters: d.voters, clusterId: d.clusterId };
    }
  }

  /** A changed commitment goes to the shell to persist (before the tag that announces it). */
  private keep(commitment: BootCommitment | undefined): void {
    if (commitment === undefined || sameCommitment(commitment, this.commitment)) return;
    this.commitment = { candidate: [...commitment.candidate].sort(), released: commitment.released };
    this.unpersistedCommitment = this.commitment;
  }
}

function sameCommitment(a: BootCommitment, b: BootCommitment | undefined): boolean {
  return b !== undefined && a.released === b.released && JSON.stringify([...a.candidate].sort()) === JSON.stringify([...b.candidate].sort());
}

function committedTag(candidate: readonly string[]): string {
  return formatBootTag({ candidateHash: candidateHash([...candidate].sort()), committed: true });
}
