import type { Rng } from '../util/rng.js';
import type { Awareness } from './awareness.js';
import type { GossipConfig } from './config.js';
import type { GossipStats } from './events.js';
import type { Outbox } from './outbox.js';
import type { BroadcastQueue } from './queue.js';
import type { TimerHeap } from './timers.js';

/** The parts every piece of the core shares; built once by GossipCore. */
export interface GossipContext {
  readonly config: GossipConfig;
  readonly rng: Rng;
  readonly stats: GossipStats;
  readonly timers: TimerHeap;
  readonly queue: BroadcastQueue;
  readonly awareness: Awareness;
  readonly out: Outbox;
}
