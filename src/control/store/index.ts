/** The config store: the control plane's Raft state machine (see config-store.ts). */
export {
  ConfigStore,
  failureToError,
  storeAlarms,
  type ConfigStoreOptions,
  type Retention,
  type SpaceUsage,
  type StoreAlarm,
  type StoreCounters,
  type StoreStats,
} from './config-store.js';
export {
  compareOps,
  compareTargets,
  commandTypes,
  decodeCommand,
  encodeCommand,
  type Command,
  type CommandType,
  type Compare,
  type CompareOp,
  type CompareTarget,
  type DecodeResult,
  type TxnOp,
} from './commands.js';
export { expiredLeaseRetryMs, type ExpiredLeases } from './leases.js';
export { defaultStoreCapacity, readLimits, snapshotLimits, storeLimits, type StoreCapacity } from './limits.js';
export type { RangeOptions, RangeResult } from './reads.js';
export { alarmClearBytes, snapshotBytesBound } from './space.js';
export {
  noLease,
  type ApplyResult,
  type KeyValue,
  type LeaseId,
  type RequestId,
  type RevisionRecord,
  type StoreEvent,
  type StoreFailure,
  type StoreResponse,
  type TxnOpResult,
} from './types.js';
export { validateCommand, validateKey, validatePrefix, validateRequestId, validateValue } from './validate.js';
export type { WatchBatch, WatchClosed, WatchHandle, WatchLimits, WatchOptions, WatchSink } from './watch.js';
