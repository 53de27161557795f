/**
 * The gossip tags the control plane advertises for this member: shoal.cluster
 * (once it runs Raft), shoal.boot (its bootstrap proposal or commitment) and,
 * on the leader only, shoal.rev (the committed revision, updated at most every
 * revTagIntervalMs so writes do not churn gossip). take() returns the whole
 * set when it changed since the last take(), else undefined.
 */
import { TAG_BOOT, TAG_CLUSTER, TAG_REVISION } from './autopilot/tags.js';

export class ControlTags {
  clusterId: string | undefined;
  bootTag: string | undefined;
  private revision: number | undefined;
  private revisionAtMs = Number.NEGATIVE_INFINITY;
  private advertised: Record<string, string> | undefined;

  constructor(private readonly revTagIntervalMs: number) {}

  /** Leader tick: advertise `revision` if it moved and the interval has passed. */
  leaderRevision(revision: number, nowMs: number): void {
    if (revision === this.revision || nowMs - this.revisionAtMs < this.revTagIntervalMs) return;
    this.revision = revision;
    this.revisionAtMs = nowMs;
  }

  /** Not (or no longer) the leader: no shoal.rev; a new leadership advertises at once. */
  notLeader(): void {
    this.revision = undefined;
    this.revisionAtMs = Number.NEGATIVE_INFINITY;
  }

  changed(): boolean {
    const prev = this.advertised;
    if (prev === undefined) return true;
    const next = this.current();
    const keys = Object.keys(next);
    return keys.length !== Object.keys(prev).length || keys.some((k) => prev[k] !== next[k]);
  }

  take(): Record<string, string> | undefined {
    if (!this.changed()) return undefined;
    this.advertised = this.current();
    return { ...this.advertised };
  }

  private current(): Record<string, string> {
    const tags: Record<string, string> = {};
    if (this.clusterId !== undefined) tags[TAG_CLUSTER] = this.clusterId;
    if (this.bootTag !== undefined) tags[TAG_BOOT] = this.bootTag;
    if (this.revision !== undefined) tags[TAG_REVISION] = String(this.revision);
    return tags;
  }
}
