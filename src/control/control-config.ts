/**
 * ControlCore configuration: validateControlConfig() fills defaults (each
 * with its reason) and rejects bad values, in the style of etcd's
 * Config.validate(). The Raft and autopilot parts are validated by their own
 * validators when the core starts them.
 */
import type { RaftConfig } from '../raft/config.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { validateAutopilotConfig, type AutopilotConfig } from './autopilot/config.js';

export interface ControlConfig {
  /** This member's name: also its Raft node id. */
  name: string;
  /** The random id of this member's data directory (src/agent/node-id.ts); '' when unknown (identity checks off). */
  nodeId: string;
  /** Eligible members that must see each other before a cluster bootstraps. */
  bootstrapExpect: number;
  /** May this member become a voter (the gossip tag `voter` says the same to others)? */
  eligible: boolean;
  /** One Raft tick. */
  tickMs: number;
  /** Raft settings (id is always `name`). */
  raft: Partial<Omit<RaftConfig, 'id'>>;
  autopilot: Partial<AutopilotConfig>;
  /** The leader plans one voter change this often. */
  autopilotIntervalMs: number;
  /** The leader looks for expired leases this often. */
  leaseCheckIntervalMs: number;
  /** Snapshot the store and compact the Raft log after this many applied entries. */
  snapshotEveryEntries: number;
  /** The leader updates its `shoal.rev` tag at most this often. */
  revTagIntervalMs: number;
  /** Every client request is answered within this (ERR_TIMEOUT / ERR_NO_QUORUM at the latest). */
  requestTimeoutMs: number;
  /** Client requests in flight at once; past it new ones are refused with ERR_RESOURCE_EXHAUSTED. */
  maxPendingRequests: number;
}

/** Defaults, each with its reason. */
export const controlConfigDefaults = {
  /** 3: the smallest voter set that survives a failure. */
  bootstrapExpect: 3,
  /** Every member may be a voter unless told otherwise; autopilot keeps the count small. */
  eligible: true,
  /** 10 ms ticks: fine-grained enough for 100 ms heartbeats without a busy timer. */
  tickMs: 10,
  /** 1 s: a voter change a second is fast enough and keeps the log quiet. */
  autopilotIntervalMs: 1000,
  /** 250 ms: a lease ends at most a quarter second after its TTL. */
  leaseCheckIntervalMs: 250,
  /** 10,000 entries: snapshots of a config store are small; the log stays short. */
  snapshotEveryEntries: 10_000,
  /** 1 s: lagging members notice within a gossip round or two without tag churn on every write. */
  revTagIntervalMs: 1000,
  /** 5 s: several election timeouts, so a request survives one leader change. */
  requestTimeoutMs: 5000,
  /** 10,000 requests in flight: far beyond what a config plane sees, bounds memory. */
  maxPendingRequests: 10_000,
} as const;

/** Raft defaults for 10 ms ticks: a 1-2 s election timeout and 100 ms heartbeats. */
export const controlRaftDefaults = {
  electionTicks: 100,
  heartbeatTicks: 10,
} as const;

function invalid(message: string, details: Record<string, unknown>): ShoalError {
  return new ShoalError(ErrorCode.InvalidConfig, `invalid control config: ${message}`, { details });
}

export function validateControlConfig(c: Partial<ControlConfig> & { name: string }): ControlConfig {
  const cfg: ControlConfig = {
    ...controlConfigDefaults,
    raft: {},
    autopilot: {},
    nodeId: '',
    ...stripUndefined(c),
    name: c.name,
  };
  if (typeof cfg.name !== 'string' || cfg.name.length === 0) throw invalid('name must be a non-empty string', { name: cfg.name });
  for (const key of [
    'bootstrapExpect',
    'tickMs',
    'autopilotIntervalMs',
    'leaseCheckIntervalMs',
    'snapshotEveryEntries',
    'revTagIntervalMs',
    'requestTimeoutMs',
    'maxPendingRequests',
  ] as const) {
    const v = cfg[key];
    if (!Number.isSafeInteger(v) || v <= 0) throw invalid(`${key} must be a positive integer, got ${String(v)}`, { [key]: v });
  }
  if (typeof cfg.eligible !== 'boolean') throw invalid('eligible must be a boolean', { eligible: cfg.eligible });
  if (typeof cfg.nodeId !== 'string' || cfg.nodeId.length > 64) throw invalid('nodeId must be a string of at most 64 characters', { nodeId: cfg.nodeId });
  validateAutopilotConfig({ ...cfg.autopilot, bootstrapExpect: cfg.bootstrapExpect });
  return cfg;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
