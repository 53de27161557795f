import * as os from 'node:os';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { parseHostPort, type Address, type HostPort } from '../util/address.js';
import { presets, validateGossipConfig, type GossipConfig } from '../gossip/config.js';
import { resolveControlOptions, type ControlAgentOptions, type ResolvedControlOptions } from './control-options.js';
import { checkAdvertise } from '../cluster/advertise.js';
import { encryptionOverheadBytes, parseKey } from '../wire/crypto.js';
import { TransportLimits } from '../transport/transport.js';

export const PRESET_NAMES = ['lan', 'wan', 'local'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** Gossip settings a user may override; identity and tags come from AgentConfig itself. */
export type GossipOverrides = Partial<Omit<GossipConfig, 'name' | 'advertiseAddr' | 'tags'>>;

/** What `Agent.start()` accepts. Every field is optional; defaults are documented in config/README.md. */
export interface AgentConfig {
  /** Unique node name; defaults to the host name. */
  name?: string;
  /** UDP+TCP gossip address, default 0.0.0.0:7946 (port 0 picks a free port). */
  bind?: Address;
  /**
   * The one address peers reach this node at (gossip UDP and cluster TCP share its port): an IP,
   * loopback only with a loopback bind. Default: the bind address; for a wildcard bind, the local
   * address of the route to the first seed, else the first non-loopback interface address.
   */
  advertise?: Address;
  /** Clusters with different labels refuse each other's connections, even on one network. Default ''. */
  clusterLabel?: string;
  /** Seeds joined at start. */
  join?: Address[];
  /**
   * Seeds retried in the background until one answers (Consul's retry_join): agents started
   * together by a supervisor need no start order. Backoff from retryJoinBaseMs doubling to
   * retryJoinMaxMs, with jitter.
   */
  retryJoin?: Address[];
  /** How long a join waits for any seed to answer. */
  joinTimeoutMs?: number;
  /** Directory for the agent's state (created if missing). */
  dataDir?: string;
  tags?: Record<string, string>;
  preset?: PresetName;
  /** HTTP API address ("127.0.0.1:7947"); no HTTP API when absent. */
  http?: Address;
  /** Per-field overrides of the preset. */
  gossip?: GossipOverrides;
  /** Upper bound on how long stop({ leave: true }) waits for the leave to spread. */
  leaveTimeoutMs?: number;
  /** Seed of the gossip core's PRNG (tests); default from crypto. */
  rngSeed?: number;
  /**
   * Run the control plane (Raft config store, autopilot) with these options;
   * absent: no control plane (agent.config rejects ERR_NOT_RUNNING). `shoal agent` always runs it.
   */
  control?: ControlAgentOptions;
  /**
   * Gossip encryption: a base64 AES-256 key (`shoal keygen`). Seeds DATA_DIR/keyring.json on first
   * start; afterwards that file (changed by `shoal keyring ...`) is authoritative.
   */
  encrypt?: string;
  /** Refuse plain datagrams and handshakes (default true with a key); false while migrating a plain cluster. */
  verifyIncoming?: boolean;
  /** Seal what this member sends (default true with a key); false while migrating a plain cluster. */
  verifyOutgoing?: boolean;
  /** Mutual TLS between agents: this member's certificate, its key and the cluster CA (all three or none). Reloaded on reloadTls(). */
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  // --- HTTP API security (config/README.md, "Securing the HTTP API") ---
  /** Management token of the HTTP API: when set, every request needs a bearer token (this one, or a stored one of enough scope). */
  apiToken?: string;
  /** PEM certificate (chain) and key files: the HTTP API serves HTTPS. Both or neither. */
  apiTlsCert?: string;
  apiTlsKey?: string;
}

export interface ResolvedAgentConfig {
  name: string;
  bind: HostPort;
  advertise: HostPort | undefined;
  clusterLabel: string;
  join: Address[];
  retryJoin: Address[];
  joinTimeoutMs: number;
  dataDir: string | undefined;
  tags: Record<string, string>;
  preset: PresetName;
  http: Address | undefined;
  gossip: GossipOverrides;
  leaveTimeoutMs: number;
  rngSeed: number | undefined;
  control: ResolvedControlOptions | undefined;
  /** The key given by `encrypt`, decoded. */
  encryptKey: Uint8Array | undefined;
  verifyIncoming: boolean | undefined;
  verifyOutgoing: boolean | undefined;
  tls: { certFile: string; keyFile: string; caFile: string } | undefined;
  apiToken: string | undefined;
  apiTlsCert: string | undefined;
  apiTlsKey: string | undefined;
}

export const AgentDefaults = {
  bind: '0.0.0.0:7946',
  gossipPort: 7946,
  httpPort: 7947,
  preset: 'lan' as PresetName,
  /** memberlist's join gives up after its TCP timeout; 10 s covers a slow WAN seed. */
  joinTimeoutMs: 10_000,
  /** Enough for a few gossip rounds to carry the leave; a stuck network never blocks shutdown longer. */
  leaveTimeoutMs: 5_000,
  /** Node names are DNS-like labels; 128 bytes bounds every packet that carries one. */
  nameMaxBytes: 128,
  /** Sum of the UTF-8 bytes of all tag keys and values (memberlist's MetaMaxSize). */
  tagsMaxBytes: 512,
  /**
   * Of those, what the agent's own tags may need (shoal.id, voter, shoal.cluster, shoal.boot,
   * shoal.rev): user tags get the rest, so a member never fails to advertise its control state.
   */
  reservedTagsBytes: 192,
  joinSeedsMax: 64,
  /** 1 s: a seed starting alongside is found within a second or two. */
  retryJoinBaseMs: 1_000,
  /** 30 s, as Consul's retry_interval: a seed that is down for long costs one attempt per half minute. */
  retryJoinMaxMs: 30_000,
  /** The label travels in every handshake (and later in every packet's authenticated data): keep it short. */
  clusterLabelMaxBytes: 64,
  /** A management token shorter than this is guessable; longer than the max is no token anyone types. */
  apiTokenMinChars: 16,
  apiTokenMaxChars: 512,
} as const;

function invalid(field: string, why: string): ShoalError {
  return new ShoalError(ErrorCode.InvalidConfig, `invalid config: ${field} ${why}`, { details: { field } });
}

function address(field: string, value: unknown, allowZeroPort: boolean): HostPort {
  if (typeof value !== 'string' || value.length === 0) throw invalid(field, 'must be "host:port"');
  let hp: HostPort;
  try {
    hp = parseHostPort(value);
  } catch {
    throw invalid(field, `must be "host:port" with a port 0..65535 (got "${value}")`);
  }
  if (!/^\[|:\d+$/.test(value) || (value.startsWith('[') && !/\]:\d+$/.test(value))) {
    throw invalid(field, `needs an explicit port (got "${value}")`);
  }
  if (!allowZeroPort && hp.port === 0) throw invalid(field, `port must be 1..65535 (got "${value}")`);
  return hp;
}

function positiveInt(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw invalid(field, 'must be a positive integer');
  return value;
}

/** User tags: what the agent's own tags leave of the limit (refused at start and in setTags, never silently later). */
export function validateUserTags(field: string, tags: unknown): Record<string, string> {
  return validateTags(field, tags, AgentDefaults.tagsMaxBytes - AgentDefaults.reservedTagsBytes);
}

export function validateTags(field: string, tags: unknown, maxBytes: number = AgentDefaults.tagsMaxBytes): Record<string, string> {
  if (tags === undefined) return {};
  if (tags === null || typeof tags !== 'object' || Array.isArray(tags)) throw invalid(field, 'must be a map of strings');
  let sizeBytes = 0;
  for (const [k, v] of Object.entries(tags)) {
    if (k.length === 0) throw invalid(field, 'keys must be non-empty');
    if (typeof v !== 'string') throw invalid(field, `value of "${k}" must be a string`);
    sizeBytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (sizeBytes > maxBytes) {
    throw invalid(field, `take ${sizeBytes} bytes, more than ${maxBytes}${maxBytes < AgentDefaults.tagsMaxBytes ? ` (${AgentDefaults.reservedTagsBytes} of the ${AgentDefaults.tagsMaxBytes} are kept for the agent's own tags)` : ''}`);
  }
  return { ...(tags as Record<string, string>) };
}

/** Checks every field, fills defaults; throws ShoalError ERR_INVALID_CONFIG naming the field. */
export function validateAgentConfig(config: AgentConfig): ResolvedAgentConfig {
  if (config === null || typeof config !== 'object') throw invalid('config', 'must be an object');
  const name = config.name ?? os.hostname();
  if (typeof name !== 'string' || name.length === 0 || /\s/.test(name)) {
    throw invalid('name', 'must be a non-empty string without spaces');
  }
  if (Buffer.byteLength(name) > AgentDefaults.nameMaxBytes) throw invalid('name', `is longer than ${AgentDefaults.nameMaxBytes} bytes`);
  const bind = address('bind', config.bind ?? AgentDefaults.bind, true);
  const advertise = config.advertise === undefined ? undefined : checkAdvertise('advertise', config.advertise, bind);
  const clusterLabel = config.clusterLabel ?? '';
  if (typeof clusterLabel !== 'string' || !/^[A-Za-z0-9_.:-]*$/.test(clusterLabel) || clusterLabel.length > AgentDefaults.clusterLabelMaxBytes) {
    throw invalid('clusterLabel', `must be at most ${AgentDefaults.clusterLabelMaxBytes} characters of A-Z a-z 0-9 _ . : - (got "${String(clusterLabel)}")`);
  }
  const join = config.join ?? [];
  if (!Array.isArray(join)) throw invalid('join', 'must be a list of "host:port"');
  if (join.length > AgentDefaults.joinSeedsMax) throw invalid('join', `has more than ${AgentDefaults.joinSeedsMax} seeds`);
  join.forEach((a, i) => address(`join[${i}]`, a, false));
  const retryJoin = config.retryJoin ?? [];
  if (!Array.isArray(retryJoin)) throw invalid('retryJoin', 'must be a list of "host:port"');
  if (retryJoin.length > AgentDefaults.joinSeedsMax) throw invalid('retryJoin', `has more than ${AgentDefaults.joinSeedsMax} seeds`);
  retryJoin.forEach((a, i) => address(`retryJoin[${i}]`, a, false));
  const preset = config.preset ?? AgentDefaults.preset;
  if (!(PRESET_NAMES as readonly string[]).includes(preset)) {
    throw invalid('preset', `must be one of ${PRESET_NAMES.join(', ')} (got "${String(preset)}")`);
  }
  if (config.http !== undefined) address('http', config.http, true);
  if (config.dataDir !== undefined && (typeof config.dataDir !== 'string' || config.dataDir.length === 0)) {
    throw invalid('dataDir', 'must be a non-empty path');
  }
  const tags = validateUserTags('tags', config.tags);
  const gossip = config.gossip ?? {};
  if (gossip === null || typeof gossip !== 'object') throw invalid('gossip', 'must be an object');
  // Check the overrides now, with a placeholder address: the real one is known after binding.
  try {
    buildGossipConfig({ name, preset, tags, gossip }, '127.0.0.1:1');
  } catch (e) {
    if (e instanceof ShoalError) throw new ShoalError(ErrorCode.InvalidConfig, `invalid config: ${e.message}`, { cause: e, details: e.details });
    throw e;
  }
  if (config.rngSeed !== undefined && (!Number.isInteger(config.rngSeed) || config.rngSeed < 0)) {
    throw invalid('rngSeed', 'must be a non-negative integer');
  }
  let encryptKey: Uint8Array | undefined;
  if (config.encrypt !== undefined) {
    try {
      encryptKey = parseKey(String(config.encrypt));
    } catch {
      throw invalid('encrypt', 'must be a 32-byte key in base64 (`shoal keygen` makes one)');
    }
  }
  for (const field of ['verifyIncoming', 'verifyOutgoing'] as const) {
    if (config[field] !== undefined && typeof config[field] !== 'boolean') throw invalid(field, 'must be a boolean');
  }
  const tlsGiven = (['tlsCert', 'tlsKey', 'tlsCa'] as const).filter((f) => config[f] !== undefined);
  for (const f of tlsGiven) if (typeof config[f] !== 'string' || config[f] === '') throw invalid(f, 'must be a non-empty path');
  if (tlsGiven.length !== 0 && tlsGiven.length !== 3) {
    throw invalid((['tlsCert', 'tlsKey', 'tlsCa'] as const).find((f) => config[f] === undefined)!, 'is needed too: give tlsCert, tlsKey and tlsCa together, or none');
  }
  // --- HTTP API security ---
  const { apiToken, apiTlsCert, apiTlsKey } = config;
  if (apiToken !== undefined) {
    const { apiTokenMinChars: min, apiTokenMaxChars: max } = AgentDefaults;
    if (typeof apiToken !== 'string' || !/^[\x21-\x7e]*$/.test(apiToken) || apiToken.length < min || apiToken.length > max) {
      throw invalid('apiToken', `must be ${min}..${max} visible ASCII characters without spaces`);
    }
  }
  for (const [field, file] of [['apiTlsCert', apiTlsCert], ['apiTlsKey', apiTlsKey]] as const) {
    if (file !== undefined && (typeof file !== 'string' || file.length === 0)) throw invalid(field, 'must be a non-empty path');
  }
  if ((apiTlsCert === undefined) !== (apiTlsKey === undefined)) throw invalid(apiTlsCert === undefined ? 'apiTlsCert' : 'apiTlsKey', 'is needed too: give both apiTlsCert and apiTlsKey, or neither');
  if (apiTlsCert !== undefined && config.http === undefined) throw invalid('apiTlsCert', 'needs http (there is no HTTP API to serve over TLS)');
  return {
    name,
    bind,
    advertise,
    clusterLabel,
    join: [...join],
    retryJoin: [...retryJoin],
    joinTimeoutMs: positiveInt('joinTimeoutMs', config.joinTimeoutMs, AgentDefaults.joinTimeoutMs),
    dataDir: config.dataDir,
    tags,
    preset,
    http: config.http,
    gossip: { ...gossip },
    leaveTimeoutMs: positiveInt('leaveTimeoutMs', config.leaveTimeoutMs, AgentDefaults.leaveTimeoutMs),
    rngSeed: config.rngSeed,
    control: config.control === undefined ? undefined : resolveControlOptions(config.control),
    encryptKey,
    verifyIncoming: config.verifyIncoming,
    verifyOutgoing: config.verifyOutgoing,
    tls: tlsGiven.length === 3 ? { certFile: config.tlsCert!, keyFile: config.tlsKey!, caFile: config.tlsCa! } : undefined,
    apiToken,
    apiTlsCert,
    apiTlsKey,
  };
}

/** The core's config: the preset, then the overrides, then identity and tags. */
export function buildGossipConfig(
  c: Pick<ResolvedAgentConfig, 'name' | 'preset' | 'tags' | 'gossip'>,
  advertiseAddr: Address,
): GossipConfig {
  const base = presets[c.preset](c.name, advertiseAddr);
  // The 1,400-byte datagram budget includes the encryption overhead, whether or not a key is in force yet:
  // a plain cluster can turn encryption on at run time (`shoal keyring install`).
  const packetMaxBytes = Math.min(base.packetMaxBytes, TransportLimits.packetMaxBytes - encryptionOverheadBytes);
  return validateGossipConfig({ ...base, packetMaxBytes, ...c.gossip, name: c.name, advertiseAddr, tags: c.tags });
}
