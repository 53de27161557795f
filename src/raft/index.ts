export * from './types.js';
export { validateRaftConfig, raftConfigDefaults } from './config.js';
export type { RaftConfig, ReadOnlyOption } from './config.js';
export { RaftNode } from './node.js';
export { ProgressState } from './status.js';
export type { RaftStatus, PeerProgressStatus, RaftCounters } from './status.js';
export { encodeConfChange, decodeConfChange } from './conf-change.js';
export { splitReadyMessages } from './ready-order.js';
export { mustSync } from './ready-order.js';
