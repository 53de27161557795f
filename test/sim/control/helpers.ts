import type { ControlConfig } from '../../../src/control/control-config.js';
import type { Tags } from '../../../src/gossip/messages.js';
import { ControlCluster, type ControlClusterOptions } from '../../../src/sim/control-cluster.js';

/** Fast control settings for simulations: short grace and stabilisation so scenarios fit in a minute of virtual time. */
export const fastControl: Partial<ControlConfig> = {
  tickMs: 10,
  autopilotIntervalMs: 500,
  requestTimeoutMs: 3000,
  autopilot: { deadVoterGraceMs: 5000, learnerStableMs: 1000 },
};

export function newCluster(
  seed: number,
  members: readonly string[],
  opts: { bootstrapExpect?: number; tags?: (name: string) => Tags; control?: Partial<ControlConfig>; cluster?: Partial<ControlClusterOptions> } = {},
): ControlCluster {
  const c = new ControlCluster({
    seed,
    control: { ...fastControl, bootstrapExpect: opts.bootstrapExpect ?? 3, ...opts.control },
    ...opts.cluster,
  });
  for (const m of members) c.add(m, opts.tags?.(m) ?? {});
  return c;
}

export function names(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
}

/** Every live member runs Raft in the same cluster, and a leader exists. */
export function formed(c: ControlCluster, members: readonly string[]): boolean {
  if (c.leader() === undefined) return false;
  return members.every((m) => !c.isLive(m) || c.status(m)?.bootstrapped === true);
}

/** Shuffled copy (Fisher–Yates) with a seeded generator. */
export function shuffled<T>(items: readonly T[], rng: { int(n: number): number }): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export interface ConfSample {
  atMs: number;
  voters: string[];
  learners: string[];
}

/**
 * Records the leader's configuration whenever it changes (sampled every
 * sampleMs of virtual time). sampleMs divides the 10 and 50 ms grids the
 * tests check conditions on, so a change a check sees has been sampled.
 */
export function recordConfigurations(c: ControlCluster, sampleMs = 10): ConfSample[] {
  const out: ConfSample[] = [];
  const sample = (): void => {
    const conf = c.configuration();
    if (conf !== undefined) {
      const last = out[out.length - 1];
      if (last === undefined || JSON.stringify([last.voters, last.learners]) !== JSON.stringify([conf.voters, conf.learners])) {
        out.push({ atMs: c.nowMs, voters: [...conf.voters], learners: [...conf.learners] });
      }
    }
    c.scheduler.after(sampleMs, sample);
  };
  c.scheduler.after(0, sample);
  return out;
}

export function describeConfs(confs: readonly ConfSample[]): string {
  return confs.map((s) => `${s.atMs.toFixed(0)}: voters ${s.voters.join(',')} learners ${s.learners.join(',')}`).join('\n');
}
