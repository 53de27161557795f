/**
 * Raft core configuration: validateRaftConfig() fills defaults (each with its
 * reason) and rejects bad values and bad pairs, in the style of etcd's
 * Config.validate().
 */
import { ErrorCode, ShoalError } from '../util/errors.js';
import type { NodeId } from './types.js';

export type ReadOnlyOption = 'safe' | 'lease-based';

export interface RaftConfig {
  id: NodeId;
  /** Ticks without a leader before a follower campaigns; randomized in [electionTicks, 2*electionTicks). */
  electionTicks: number;
  /** Ticks between a leader's heartbeats. Must be < electionTicks. */
  heartbeatTicks: number;
  /** Upper bound of entry bytes in one App message (at least one entry is always sent). */
  maxSizePerMsgBytes: number;
  /** Unacknowledged App messages per follower in replicate state. */
  maxInflightMsgs: number;
  /** Unacknowledged entry bytes per follower in replicate state. */
  maxInflightBytes: number;
  /** Run a pre-election so a rejoining partitioned node cannot disrupt the cluster. */
  preVote: boolean;
  /** A leader steps down when it has not heard from a quorum within an election timeout. */
  checkQuorum: boolean;
  /** 'safe': ReadIndex confirms leadership by a heartbeat round; 'lease-based': trusts the leader lease (needs checkQuorum). */
  readOnlyOption: ReadOnlyOption;
  /** Bytes of proposed but not yet committed entries a leader accepts before dropping proposals. */
  maxUncommittedEntriesBytes: number;
  /** Bytes of snapshot data per InstallSnapshot chunk. */
  snapshotChunkBytes: number;
  /** A follower forwards proposals to the leader (else it refuses them with ERR_NOT_LEADER). */
  forwardProposals: boolean;
}

/** Defaults, each with its reason. */
export const raftConfigDefaults = {
  /** 10 ticks of 100 ms: a 1-2 s election timeout, etcd's default ratio. */
  electionTicks: 10,
  /** Heartbeat every tick: 10 heartbeats per election timeout tolerate lost heartbeats. */
  heartbeatTicks: 1,
  /** 1 MiB per App: large enough to batch, small enough not to stall a heartbeat-sized link. */
  maxSizePerMsgBytes: 1024 * 1024,
  /** 256 messages in flight: etcd's default pipelining depth. */
  maxInflightMsgs: 256,
  /** 16 MiB in flight per follower: bounds leader memory and link queueing. */
  maxInflightBytes: 16 * 1024 * 1024,
  /** PreVote on: a partitioned node rejoining must not bump the cluster's term. */
  preVote: true,
  /** CheckQuorum on: a minority leader steps down instead of serving stale reads. */
  checkQuorum: true,
  /** Safe reads by default: no reliance on bounded clock drift. */
  readOnlyOption: 'safe' as ReadOnlyOption,
  /** 64 MiB of uncommitted proposals: beyond that the cluster is not keeping up. */
  maxUncommittedEntriesBytes: 64 * 1024 * 1024,
  /** 1 MiB chunks: fits comfortably below a transport frame limit. */
  snapshotChunkBytes: 1024 * 1024,
  /** Forward proposals: clients may talk to any member. */
  forwardProposals: true,
} as const;

function invalid(message: string, details: Record<string, unknown>): ShoalError {
  return new ShoalError(ErrorCode.InvalidConfig, `invalid raft config: ${message}`, { details });
}

function positiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw invalid(`${name} must be a positive integer, got ${String(value)}`, { [name]: value });
  }
}

export function validateRaftConfig(c: Partial<RaftConfig> & { id: NodeId }): RaftConfig {
  const cfg: RaftConfig = { ...raftConfigDefaults, ...stripUndefined(c), id: c.id };
  if (typeof cfg.id !== 'string' || cfg.id.length === 0) {
    throw invalid('id must be a non-empty string', { id: cfg.id });
  }
  positiveInteger('electionTicks', cfg.electionTicks);
  positiveInteger('heartbeatTicks', cfg.heartbeatTicks);
  positiveInteger('maxSizePerMsgBytes', cfg.maxSizePerMsgBytes);
  positiveInteger('maxInflightMsgs', cfg.maxInflightMsgs);
  positiveInteger('maxInflightBytes', cfg.maxInflightBytes);
  positiveInteger('maxUncommittedEntriesBytes', cfg.maxUncommittedEntriesBytes);
  positiveInteger('snapshotChunkBytes', cfg.snapshotChunkBytes);
  if (cfg.heartbeatTicks >= cfg.electionTicks) {
    throw invalid(`heartbeatTicks (${cfg.heartbeatTicks}) must be less than electionTicks (${cfg.electionTicks})`, {
      heartbeatTicks: cfg.heartbeatTicks,
      electionTicks: cfg.electionTicks,
    });
  }
  if (cfg.maxInflightBytes < cfg.maxSizePerMsgBytes) {
    throw invalid(
      `maxInflightBytes (${cfg.maxInflightBytes}) must be at least maxSizePerMsgBytes (${cfg.maxSizePerMsgBytes})`,
      { maxInflightBytes: cfg.maxInflightBytes, maxSizePerMsgBytes: cfg.maxSizePerMsgBytes },
    );
  }
  if (cfg.readOnlyOption !== 'safe' && cfg.readOnlyOption !== 'lease-based') {
    throw invalid(`readOnlyOption must be 'safe' or 'lease-based', got ${String(cfg.readOnlyOption)}`, {
      readOnlyOption: cfg.readOnlyOption,
    });
  }
  if (cfg.readOnlyOption === 'lease-based' && !cfg.checkQuorum) {
    throw invalid('readOnlyOption lease-based requires checkQuorum (a leader lease is only valid while a quorum is checked)', {
      readOnlyOption: cfg.readOnlyOption,
      checkQuorum: cfg.checkQuorum,
    });
  }
  for (const name of ['preVote', 'checkQuorum', 'forwardProposals'] as const) {
    if (typeof cfg[name] !== 'boolean') throw invalid(`${name} must be a boolean`, { [name]: cfg[name] });
  }
  return cfg;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}
