/**
 * The agent's ControlApi: the local control shell while this member is a
 * voter or learner, the config follower's forwarding API otherwise (see
 * config-follower.ts). Decided per call, from the core's current Raft
 * configuration.
 */
import { ConfigClient } from '../api/config-client.js';
import type { ControlApi } from '../api/config-types.js';
import type { ConfigFollower } from './config-follower.js';
import { ForwardingControlApi } from './config-follower.js';
import { ControlApiAdapter } from './control-api.js';
import type { ControlShell } from './control-shell.js';

export class RoutingControlApi implements ControlApi {
  private readonly local: ControlApiAdapter;
  private readonly forward: ForwardingControlApi;

  constructor(
    private readonly shell: ControlShell,
    private readonly name: string,
    follower: ConfigFollower,
    /** A member's HTTP API address from its shoal.http tag. */
    private readonly httpOf: (member: string) => string | undefined,
  ) {
    this.local = new ControlApiAdapter(shell);
    this.forward = new ForwardingControlApi(follower, () => shell.status());
  }

  /** Voter or learner: the local Raft node serves. Before any cluster exists it answers too (ERR_NO_QUORUM). */
  isRaftMember(): boolean {
    // Every request asks: read the Raft configuration only, not the whole control status (counters, store...).
    const core = this.shell.core;
    const raft = core.raftStatus();
    if (raft === undefined) return core.status().clusterId === '';
    return raft.voters.includes(this.name) || raft.learners.includes(this.name);
  }

  private pick(): ControlApi {
    return this.isRaftMember() ? this.local : this.forward;
  }

  raftStatus: ControlApi['raftStatus'] = () => (this.isRaftMember() ? { ...this.local.raftStatus(), mode: 'raft' } : this.forward.raftStatus());
  get: ControlApi['get'] = (k, o) => this.pick().get(k, o);
  range: ControlApi['range'] = (p, o) => this.pick().range(p, o);
  put: ControlApi['put'] = (r, o) => this.pick().put(r, o);
  delete: ControlApi['delete'] = (k, o) => this.pick().delete(k, o);
  txn: ControlApi['txn'] = (r, o) => this.pick().txn(r, o);
  watch: ControlApi['watch'] = (p, f, s, o) => this.pick().watch(p, f, s, o);
  leaseGrant: ControlApi['leaseGrant'] = (r, o) => this.pick().leaseGrant(r, o);
  leaseKeepAlive: ControlApi['leaseKeepAlive'] = (id, o) => this.pick().leaseKeepAlive(id, o);
  leaseRevoke: ControlApi['leaseRevoke'] = (id, o) => this.pick().leaseRevoke(id, o);
  /** Only the leader hands leadership over: a Raft member that is not the leader asks the leader's HTTP API. */
  transferLeader: ControlApi['transferLeader'] = (to, o) => {
    const s = this.shell.core.status();
    const leaderHttp = s.leader === '' || s.leader === this.name ? undefined : this.httpOf(s.leader);
    if (!this.isRaftMember() || leaderHttp === undefined) return this.pick().transferLeader(to, o);
    return new ConfigClient(leaderHttp).transferLeader(to, o);
  };
  removePeer: ControlApi['removePeer'] = (n, o) => this.pick().removePeer(n, o);
  compact: ControlApi['compact'] = (rev, o) => this.pick().compact(rev, o);
}
