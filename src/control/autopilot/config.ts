/**
 * Autopilot configuration: validateAutopilotConfig() fills defaults (each with
 * its reason) and rejects bad values and bad pairs.
 */
import { ErrorCode, ShoalError } from '../../util/errors.js';

export interface AutopilotConfig {
  /** Voters wanted in a cluster with fewer than largeClusterMinEligible eligible members. */
  voterTarget: number;
  /** Voters wanted once at least largeClusterMinEligible eligible members exist. */
  largeClusterVoterTarget: number;
  /** Eligible members (not left) from which largeClusterVoterTarget applies. */
  largeClusterMinEligible: number;
  /** How long gossip must report a voter dead before autopilot removes it from the voter set. */
  deadVoterGraceMs: number;
  /** A learner is caught up (promotable) when its match index is within this many entries of the leader's last index. */
  catchUpMaxLagEntries: number;
  /** A learner must have been alive this long (gossip state unchanged) before it is promoted. */
  learnerStableMs: number;
  /** Eligible members that must see each other before a cluster bootstraps. */
  bootstrapExpect: number;
}

/** Defaults, each with its reason. */
export const autopilotConfigDefaults = {
  /** 3 voters tolerate one failure at the cost of 2 acks per write: right for small clusters. */
  voterTarget: 3,
  /** 5 voters tolerate two failures (one planned, one not) once there are members to spare. */
  largeClusterVoterTarget: 5,
  /** From 7 eligible members, 5 voters still leave 2 spares to replace a failed voter. */
  largeClusterMinEligible: 7,
  /**
   * 30 s: longer than gossip's dead declaration plus a process restart (a rebooting
   * voter keeps its seat), short enough that a lost machine is replaced within a minute.
   * A replacement learner is added and caught up meanwhile, so the grace costs no time.
   */
  deadVoterGraceMs: 30_000,
  /** 250 entries: Consul autopilot's MaxTrailingLogs; a learner this close catches up within a heartbeat or two. */
  catchUpMaxLagEntries: 250,
  /** 10 s: Consul autopilot's ServerStabilizationTime; a flapping member is not made a voter. */
  learnerStableMs: 10_000,
  /** 3: the smallest voter set that survives a failure. Set it to the number of initial servers. */
  bootstrapExpect: 3,
} as const;

function invalid(message: string, details: Record<string, unknown>): ShoalError {
  return new ShoalError(ErrorCode.InvalidConfig, `invalid autopilot config: ${message}`, { details });
}

function integerAtLeast(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw invalid(`${name} must be an integer >= ${min}, got ${String(value)}`, { [name]: value });
  }
}

export function validateAutopilotConfig(c: Partial<AutopilotConfig> = {}): AutopilotConfig {
  const cfg: AutopilotConfig = { ...autopilotConfigDefaults };
  for (const [k, v] of Object.entries(c)) {
    if (v !== undefined) (cfg as unknown as Record<string, unknown>)[k] = v;
  }
  integerAtLeast('voterTarget', cfg.voterTarget, 1);
  integerAtLeast('largeClusterVoterTarget', cfg.largeClusterVoterTarget, 1);
  integerAtLeast('largeClusterMinEligible', cfg.largeClusterMinEligible, 1);
  integerAtLeast('deadVoterGraceMs', cfg.deadVoterGraceMs, 0);
  integerAtLeast('catchUpMaxLagEntries', cfg.catchUpMaxLagEntries, 0);
  integerAtLeast('learnerStableMs', cfg.learnerStableMs, 0);
  integerAtLeast('bootstrapExpect', cfg.bootstrapExpect, 1);
  if (cfg.largeClusterVoterTarget < cfg.voterTarget) {
    throw invalid(
      `largeClusterVoterTarget (${cfg.largeClusterVoterTarget}) must be at least voterTarget (${cfg.voterTarget})`,
      { largeClusterVoterTarget: cfg.largeClusterVoterTarget, voterTarget: cfg.voterTarget },
    );
  }
  if (cfg.largeClusterMinEligible <= cfg.largeClusterVoterTarget) {
    throw invalid(
      `largeClusterMinEligible (${cfg.largeClusterMinEligible}) must exceed largeClusterVoterTarget (${cfg.largeClusterVoterTarget}) so a spare exists`,
      { largeClusterMinEligible: cfg.largeClusterMinEligible, largeClusterVoterTarget: cfg.largeClusterVoterTarget },
    );
  }
  return cfg;
}

/** The voter count wanted for a cluster with `eligibleCount` eligible members (not left). */
export function voterTargetFor(cfg: AutopilotConfig, eligibleCount: number): number {
  return eligibleCount >= cfg.largeClusterMinEligible ? cfg.largeClusterVoterTarget : cfg.voterTarget;
}
