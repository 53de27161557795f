/**
 * Gossip key rotation across a running cluster, as serf's `keys` command:
 * the operator asks one agent, which applies the change to itself and to
 * every live member over the cluster transport (StreamKind.Admin), and
 * reports which members hold which key.
 *
 *   install KEY   every member accepts KEY (a member without a keyring gets one
 *                 with both verify switches off: the first step of a migration)
 *   use KEY       every member seals with KEY (it must be installed everywhere first)
 *   remove KEY    every member stops accepting KEY (never the primary)
 *   verify        set the incoming/outgoing switches (migrating a plain cluster)
 *   list          each member's keys, primary and switches
 *
 * Every change is written to DATA_DIR/keyring.json before it is reported.
 */
import type { ClusterNetTransport } from '../cluster/net-transport.js';
import { StreamKind } from '../cluster/kinds.js';
import type { MemberInfo } from '../gossip/events.js';
import { MemberState } from '../gossip/messages.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { Keyring, formatKey, parseKey } from '../wire/crypto.js';
import { decodeJson, encodeJson } from './control-rpc.js';
import { writeKeyringFile } from './keyring-file.js';

export const keyringOps = ['list', 'install', 'use', 'remove', 'verify'] as const;
export type KeyringOp = (typeof keyringOps)[number];

export interface KeyringRequest {
  op: KeyringOp;
  /** base64, for install / use / remove. */
  key?: string;
  incoming?: boolean;
  outgoing?: boolean;
}

export interface KeyringMemberView {
  name: string;
  ok: boolean;
  error?: string;
  primary?: string;
  keys?: string[];
  verifyIncoming?: boolean;
  verifyOutgoing?: boolean;
  /** Written to the member's data directory (false: it has none, the change lasts until it restarts). */
  persisted?: boolean;
}

export interface KeyringReport {
  members: KeyringMemberView[];
  /** Each key (base64) and the members that hold it. */
  keys: Record<string, string[]>;
  /** Each primary key and the members that seal with it. */
  primaries: Record<string, string[]>;
  failed: number;
}

/** A member answers within this, or is reported failed (the change may or may not have reached it). */
const memberTimeoutMs = 5_000;
const requestBytesMax = 4096;
/** Members asked at once by a cluster-wide keyring change. */
const fanOutMax = 32;

export class KeyringManager {
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly transport: ClusterNetTransport,
    private readonly name: string,
    private readonly dataDir: string | undefined,
    private readonly members: () => readonly MemberInfo[],
  ) {
    transport.handle(StreamKind.Admin, {
      request: async (_peer, payload) => encodeJson(await this.applyLocal(parseRequest(decodeJson(payload, requestBytesMax, 'keyring request')))),
    });
  }

  /** Apply to this member and every live one; never throws for a member that fails (it is reported). */
  async cluster(request: KeyringRequest, signal?: AbortSignal): Promise<KeyringReport> {
    const req = parseRequest(request);
    // Check locally first: a bad key or an impossible change fails at once, before anything is sent.
    const self = await this.applyLocal(req);
    const others = this.members().filter((m) => m.name !== this.name && (m.state === MemberState.Alive || m.state === MemberState.Suspect));
    const ask = async (m: MemberInfo): Promise<KeyringMemberView> => {
      try {
        const answer = await this.transport.request(m.addr, StreamKind.Admin, encodeJson(req), { timeoutMs: memberTimeoutMs, ...(signal === undefined ? {} : { signal }) });
        return decodeJson(answer, 64 * 1024, `keyring answer from ${m.name}`) as KeyringMemberView;
      } catch (e) {
        return { name: m.name, ok: false, error: e instanceof Error ? e.message : String(e) };
      }
    };
    // A few dozen at a time: a cluster of thousands is asked without thousands of connections at once.
    const views: KeyringMemberView[] = new Array(others.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < others.length) {
        const i = next++;
        views[i] = await ask(others[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(fanOutMax, others.length) }, worker));
    return report([self, ...views]);
  }

  /** The change on this member alone. A refused change throws ERR_INVALID_ARGUMENT. */
  async applyLocal(req: KeyringRequest): Promise<KeyringMemberView> {
    const sec = this.transport.security;
    const key = req.key === undefined ? undefined : parseKey(req.key);
    let changed = true;
    switch (req.op) {
      case 'list':
        changed = false;
        break;
      case 'install':
        if (sec.keyring === undefined) {
          // A plain member takes its first key in migration mode: it still speaks and accepts plain.
          sec.keyring = new Keyring(key!);
          sec.verifyIncoming = false;
          sec.verifyOutgoing = false;
        } else sec.keyring.install(key!);
        break;
      case 'use':
        need(sec.keyring, this.name).use(key!);
        break;
      case 'remove':
        need(sec.keyring, this.name).remove(key!);
        break;
      case 'verify':
        need(sec.keyring, this.name);
        if (req.incoming !== undefined) sec.verifyIncoming = req.incoming;
        if (req.outgoing !== undefined) sec.verifyOutgoing = req.outgoing;
        break;
    }
    let persisted = this.dataDir !== undefined;
    if (changed && this.dataDir !== undefined && sec.keyring !== undefined) {
      const dataDir = this.dataDir;
      const state = { keyring: sec.keyring, verifyIncoming: sec.verifyIncoming, verifyOutgoing: sec.verifyOutgoing };
      this.writes = this.writes.then(() => writeKeyringFile(dataDir, state));
      try {
        await this.writes;
      } catch (e) {
        persisted = false;
        this.writes = Promise.resolve();
        return { ...this.view(), ok: false, persisted, error: `applied but not saved: ${(e as Error).message}` };
      }
    }
    return { ...this.view(), persisted };
  }

  view(): KeyringMemberView {
    const sec = this.transport.security;
    if (sec.keyring === undefined) return { name: this.name, ok: true, keys: [], verifyIncoming: false, verifyOutgoing: false };
    return {
      name: this.name,
      ok: true,
      primary: formatKey(sec.keyring.primaryKey),
      keys: sec.keyring.keys.map(formatKey),
      verifyIncoming: sec.verifyIncoming,
      verifyOutgoing: sec.verifyOutgoing,
    };
  }
}

function need(keyring: Keyring | undefined, name: string): Keyring {
  if (keyring === undefined) throw new ShoalError(ErrorCode.InvalidArgument, `${name} has no keyring: install a key first`);
  return keyring;
}

function parseRequest(body: unknown): KeyringRequest {
  const o = body as Partial<KeyringRequest> | null;
  if (o === null || typeof o !== 'object' || !(keyringOps as readonly string[]).includes(String(o.op))) {
    throw new ShoalError(ErrorCode.BadRequest, `keyring op must be one of ${keyringOps.join(', ')}`, { details: { field: 'op' } });
  }
  const req: KeyringRequest = { op: o.op as KeyringOp };
  if (req.op === 'install' || req.op === 'use' || req.op === 'remove') {
    if (typeof o.key !== 'string') throw new ShoalError(ErrorCode.BadRequest, `keyring ${req.op} needs a key`, { details: { field: 'key' } });
    try {
      parseKey(o.key);
    } catch {
      throw new ShoalError(ErrorCode.InvalidArgument, 'key must be 32 bytes in base64 (`shoal keygen`)', { details: { field: 'key' } });
    }
    req.key = o.key;
  }
  if (req.op === 'verify') {
    for (const f of ['incoming', 'outgoing'] as const) {
      if (o[f] !== undefined && typeof o[f] !== 'boolean') throw new ShoalError(ErrorCode.BadRequest, `${f} must be a boolean`, { details: { field: f } });
      if (o[f] !== undefined) req[f] = o[f];
    }
  }
  return req;
}

function report(members: KeyringMemberView[]): KeyringReport {
  const keys: Record<string, string[]> = {};
  const primaries: Record<string, string[]> = {};
  for (const m of members) {
    for (const k of m.keys ?? []) (keys[k] ??= []).push(m.name);
    if (m.primary !== undefined) (primaries[m.primary] ??= []).push(m.name);
  }
  return { members, keys, primaries, failed: members.filter((m) => !m.ok).length };
}
