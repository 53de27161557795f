/**
 * shoal: a cluster agent for Node.js. The library entry:
 *
 *   import { Agent } from 'shoal';
 *   const agent = await Agent.start({ name: 'a', bind: '0.0.0.0:7946', join: ['10.0.0.1:7946'] });
 *   agent.on('member-failed', (m) => console.log(m.name, 'failed'));
 *   await agent.stop({ leave: true });
 */
export { Agent, toMemberView, type AgentEvents, type AgentStats, type UserEvent } from './agent/agent.js';
export {
  AgentDefaults,
  PRESET_NAMES,
  validateAgentConfig,
  type AgentConfig,
  type GossipOverrides,
  type PresetName,
  type ResolvedAgentConfig,
} from './agent/config.js';
export type { HealthView, MemberStateName, MemberView } from './api/types.js';
export { ApiClient } from './api/client.js';
export type { ApiClientOptions } from './api/http-transport.js';
export { ConfigClient } from './api/config-client.js';
export { AclClient, type CreatedToken } from './api/acl-client.js';
export type { AclTokenView, TokenScope } from './api/acl-tokens.js';
export { AgentConfigApi } from './agent/control-facade.js';
export type { ControlAgentOptions } from './agent/control-options.js';
export type {
  ControlApi,
  DeleteResult,
  KvView,
  LeaseView,
  PutResult,
  RaftStatusView,
  RangeView,
  TxnRequest,
  TxnResult,
  WatchEventView,
} from './api/config-types.js';
export type { WatchLine } from './api/watch-stream.js';
export { HttpApiServer } from './api/http-server.js';
export { ClusterNetTransport, type ClusterNetOptions } from './cluster/net-transport.js';
export type { ClusterTransport, PeerInfo, StreamHandler, RequestOptions } from './cluster/transport.js';
export type { ClusterTransportStats } from './cluster/stats.js';
export { StreamKind } from './cluster/kinds.js';
export type { NodeIdentity } from './cluster/identity.js';
export type { GossipConfig } from './gossip/config.js';
export { ErrorCode, ShoalError, isShoalError } from './util/errors.js';
export type { Address } from './util/address.js';
