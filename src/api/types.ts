/**
 * The JSON shapes of the HTTP API and the service the server calls. The Agent
 * implements MembershipService; tests use a fake.
 */
export type MemberStateName = 'alive' | 'suspect' | 'dead' | 'left';

export interface MemberView {
  name: string;
  addr: string;
  state: MemberStateName;
  incarnation: number;
  tags: Record<string, string>;
}

export interface HealthView {
  /** 'ok' while running, 'leaving' during a graceful leave, 'failed' once a plane halted (the agent then leaves and stops). */
  status: 'ok' | 'leaving' | 'failed';
  /** Why the agent failed (only with status 'failed'). */
  reason?: string;
  name: string;
  addr: string;
  membersAlive: number;
  membersTotal: number;
  /** Lifeguard awareness score: 0 is healthy. */
  localHealth: number;
  /** Raised control-plane alarms, e.g. NOSPACE (the store reached its quota: reads, deletes and compaction still work). */
  alarms?: string[];
  uptimeMs: number;
}

export interface MembershipService {
  members(): MemberView[];
  /** Resolves with the number of seeds reached; rejects ShoalError ERR_JOIN_FAILED if none. */
  join(addrs: string[], options?: { signal?: AbortSignal }): Promise<number>;
  /** Broadcasts a graceful leave and resolves once it has spread (or a bounded time passed). */
  leave(): Promise<void>;
  health(): HealthView;
}
