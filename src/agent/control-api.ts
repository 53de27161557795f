/**
 * ControlBackend: what a control shell provides to the control service
 * (control-service.ts): propose a command, read, watch the local store,
 * leadership. The shell speaks the store's bytes; the service converts.
 */
import type { RaftStatusView } from '../api/config-types.js';
import type { CommandBody } from '../api/config-views.js';
import type { ReadQuery } from '../control/control-types.js';
import type { ConfigStore } from '../control/store/config-store.js';
import type { RangeResult } from '../control/store/reads.js';
import type { KeyValue, StoreResponse } from '../control/store/types.js';

export interface WriteOutcome {
  revision: number;
  response: StoreResponse;
}

export interface ControlBackend {
  /** Propose (the backend assigns the request id); resolves once applied, rejects with a ShoalError. */
  write(command: CommandBody, signal?: AbortSignal): Promise<WriteOutcome>;
  read(query: ReadQuery, linearizable: boolean, signal?: AbortSignal): Promise<{ kv?: KeyValue; revision: number } | RangeResult>;
  /** The local replica, for watches (it may be replaced when a snapshot is installed: watches then close). */
  store(): ConfigStore;
  status(): RaftStatusView;
  transferLeader(to: string | undefined, signal?: AbortSignal): Promise<{ leader: string }>;
  removePeer(name: string, signal?: AbortSignal): Promise<{ removed: string }>;
}
