export { GossipCore } from './core.js';
export { presets, validateGossipConfig, type GossipConfig } from './config.js';
export {
  DropReason,
  type GossipReady,
  type GossipStats,
  type MemberEvent,
  type MemberEventType,
  type MemberInfo,
} from './events.js';
export { suspicionMinTimeoutMs, suspicionTimeoutMs } from './suspicion.js';
export { retransmitLimit } from './queue.js';
export { pushPullScaleMs } from './pushpull.js';
export * from './messages.js';
