/**
 * The agent's control plane options (AgentConfig.control), validated with
 * their defaults. Defaults, each with its reason:
 *
 *  - Raft has no port of its own: it rides on the cluster transport, on the
 *    gossip port (src/cluster/).
 *  - bootstrapExpect 3: the smallest voter set that survives a failure.
 *  - voter true: every member may be a voter; false advertises `voter=false`.
 *  - dataDir: the agent's dataDir; without one, a fresh temp directory per
 *    run (Raft state is then lost at exit: fine for tests and demos only).
 */
import type { AutopilotConfig } from '../control/autopilot/config.js';
import { ErrorCode, ShoalError } from '../util/errors.js';

export interface ControlAgentOptions {
  bootstrapExpect?: number;
  /** May this member be a voter? */
  voter?: boolean;
  /** Autopilot: how long a dead voter is given before it is replaced. */
  deadVoterGraceMs?: number;
  /** Autopilot: how long a learner must be healthy before promotion. */
  learnerStableMs?: number;
  /** Raft tick. */
  tickMs?: number;
  /** Every request is answered within this. */
  requestTimeoutMs?: number;
  /** Space quota of the config store (live data, history, leases), bytes; the leader's setting is replicated. */
  quotaBytes?: number;
}

export interface ResolvedControlOptions {
  bootstrapExpect: number;
  voter: boolean;
  autopilot: Partial<AutopilotConfig>;
  tickMs: number | undefined;
  requestTimeoutMs: number | undefined;
  quotaBytes: number | undefined;
}

export const controlAgentDefaults = {
  bootstrapExpect: 3,
} as const;

function invalid(field: string, why: string): ShoalError {
  return new ShoalError(ErrorCode.InvalidConfig, `invalid config: control.${field} ${why}`, { details: { field: `control.${field}` } });
}

function optionalInt(field: string, v: unknown, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw invalid(field, `must be an integer >= ${min}`);
  return v;
}

export function resolveControlOptions(o: ControlAgentOptions): ResolvedControlOptions {
  if (o === null || typeof o !== 'object') throw invalid('', 'must be an object');
  if ((o as { raft?: unknown }).raft !== undefined) {
    throw invalid('raft', 'is gone: Raft shares the gossip port (one port per agent); remove the option');
  }
  if (o.voter !== undefined && typeof o.voter !== 'boolean') throw invalid('voter', 'must be a boolean');
  const autopilot: Partial<AutopilotConfig> = {};
  const grace = optionalInt('deadVoterGraceMs', o.deadVoterGraceMs, 0);
  if (grace !== undefined) autopilot.deadVoterGraceMs = grace;
  const stable = optionalInt('learnerStableMs', o.learnerStableMs, 0);
  if (stable !== undefined) autopilot.learnerStableMs = stable;
  return {
    bootstrapExpect: optionalInt('bootstrapExpect', o.bootstrapExpect, 1) ?? controlAgentDefaults.bootstrapExpect,
    voter: o.voter ?? true,
    autopilot,
    tickMs: optionalInt('tickMs', o.tickMs, 1),
    requestTimeoutMs: optionalInt('requestTimeoutMs', o.requestTimeoutMs, 1),
    quotaBytes: quotaOf(o.quotaBytes),
  };
}

/** --quota-bytes: 1 MiB to 768 MiB (the store's own bounds: a snapshot of a full store stays loadable). */
function quotaOf(v: unknown): number | undefined {
  const q = optionalInt('quotaBytes', v, 1);
  if (q === undefined) return undefined;
  const min = 1024 * 1024;
  const max = 768 * 1024 * 1024;
  if (q < min || q > max) throw invalid('quotaBytes', `must be between ${min} and ${max} bytes (got ${q})`);
  return q;
}
