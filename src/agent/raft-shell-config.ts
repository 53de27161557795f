/**
 * Options of the Raft shell (raft-shell.ts), with defaults and their reasons,
 * validated like the core's config.
 */
import type { NodeId } from '../raft/types.js';
import type { PeerLinkLimits } from '../transport/peer-link-config.js';
import type { HostPort } from '../util/address.js';
import { ErrorCode, ShoalError } from '../util/errors.js';

export interface RaftShellOptions {
  id: NodeId;
  /** Every voter's Raft peer address, this node included (its entry is where it listens). */
  voters: ReadonlyMap<NodeId, HostPort>;
  dataDir: string;
  /** One core tick every tickMs. */
  tickMs: number;
  /** Election timeout in ticks, randomized by the core in [electionTicks, 2*electionTicks). */
  electionTicks: number;
  heartbeatTicks: number;
  /** Snapshot the state machine and compact the log after this many entries applied since the last one. */
  snapshotEveryEntries: number;
  /** A proposal not applied here within this time fails with ERR_TIMEOUT (outcome unknown). */
  proposalTimeoutMs: number;
  /** A request made while no leader is known waits this long for one, then fails with ERR_NOT_LEADER (not applied). */
  leaderWaitMs: number;
  /** A read not served within this time fails with ERR_TIMEOUT. */
  readTimeoutMs: number;
  /** Proposals waiting at once; more are refused with ERR_UNAVAILABLE. */
  maxPendingProposals: number;
  /** Reads waiting at once; more are refused with ERR_UNAVAILABLE. */
  maxPendingReads: number;
  /** Sessions the KV machine remembers for de-duplication. */
  maxSessions: number;
  peerLinkLimits?: Partial<PeerLinkLimits>;
}

export const raftShellDefaults = {
  /** 10 ms ticks: fine-grained enough for 150 ms elections on a LAN or loopback. */
  tickMs: 10,
  /** 15 ticks of 10 ms: 150-300 ms election timeouts, well above loopback/LAN heartbeat jitter. */
  electionTicks: 15,
  /** A heartbeat every 2 ticks (20 ms): ~7 heartbeats per election timeout. */
  heartbeatTicks: 2,
  /** 10 000 entries: bounds replay time on restart without snapshotting on every burst. */
  snapshotEveryEntries: 10_000,
  /** 2 s: several election timeouts, so a proposal survives one leader change and still gets an answer. */
  proposalTimeoutMs: 2000,
  /** 1 s: three to six election timeouts, so a request rides through an election instead of failing. */
  leaderWaitMs: 1000,
  /** 2 s: as for proposals. */
  readTimeoutMs: 2000,
  /** 4096: a busy HTTP front end; beyond that the cluster is not keeping up. */
  maxPendingProposals: 4096,
  /** 4096: matches the core's bound on pending ReadIndex requests. */
  maxPendingReads: 4096,
  /** 10 000 client sessions, the KV machine's default. */
  maxSessions: 10_000,
} as const;

export function validateRaftShellOptions(
  o: Partial<RaftShellOptions> & Pick<RaftShellOptions, 'id' | 'voters' | 'dataDir'>,
): RaftShellOptions {
  const opts: RaftShellOptions = { ...raftShellDefaults, ...stripUndefined(o), id: o.id, voters: o.voters, dataDir: o.dataDir };
  const bad = (message: string): ShoalError => new ShoalError(ErrorCode.InvalidConfig, `invalid raft shell options: ${message}`);
  if (!opts.voters.has(opts.id)) throw bad(`voters must include this node (${opts.id})`);
  if (opts.dataDir.length === 0) throw bad('dataDir must be set');
  for (const k of [
    'tickMs',
    'electionTicks',
    'heartbeatTicks',
    'snapshotEveryEntries',
    'proposalTimeoutMs',
    'leaderWaitMs',
    'readTimeoutMs',
    'maxPendingProposals',
    'maxPendingReads',
    'maxSessions',
  ] as const) {
    const v = opts[k];
    if (!Number.isSafeInteger(v) || v <= 0) throw bad(`${k} must be a positive integer, got ${String(v)}`);
  }
  return opts;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
