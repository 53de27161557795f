/**
 * The agent's ControlApi: the local control shell while this member is a
 * voter or learner (or before any cluster exists: it then answers
 * ERR_NO_QUORUM itself), the forwarding API otherwise (control-rpc-client.ts).
 * Decided per call, from the core's current Raft configuration.
 */
import type { ControlApi } from '../api/config-types.js';
import { ControlApiAdapter } from './control-api.js';
import type { ControlRpcClient, ForwardingControlApi } from './control-rpc-client.js';
import type { ControlShell } from './control-shell.js';

export class RoutingControlApi implements ControlApi {
  readonly local: ControlApiAdapter;

  constructor(
    private readonly shell: ControlShell,
    private readonly name: string,
    private readonly forward: ForwardingControlApi,
    /** Requests to one named member (the leader), for leadership transfer from a follower. */
    private readonly toMember: (member: string) => ControlRpcClient | undefined,
  ) {
    this.local = new ControlApiAdapter(shell);
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
  /** Only the leader hands leadership over: a Raft member that is not the leader asks the leader, once, over the cluster transport. */
  transferLeader: ControlApi['transferLeader'] = (to, o = {}) => {
    const s = this.shell.core.status();
    const leader = s.leader === '' || s.leader === this.name ? undefined : this.toMember(s.leader);
    if (!this.isRaftMember() || leader === undefined) return this.pick().transferLeader(to, o);
    return leader.call('transferLeader', { to }, o.signal);
  };
  removePeer: ControlApi['removePeer'] = (n, o) => this.pick().removePeer(n, o);
  compact: ControlApi['compact'] = (rev, o) => this.pick().compact(rev, o);
}

