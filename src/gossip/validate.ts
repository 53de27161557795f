import { isWireUint } from '../wire/uint.js';
import { DropReason } from './events.js';
import { MemberState, MessageType } from './messages.js';

/** Longest name, address or event name accepted (matches the wire decoder's bound). */
export const STRING_BYTES_MAX = 512;

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null;
/** Incarnations, Lamport times and sequence numbers: within the wire bound, as the decoder checks. */
const isUint = (v: unknown): boolean => isWireUint(v);
const isStr = (v: unknown): boolean => typeof v === 'string' && v.length <= STRING_BYTES_MAX;
const isName = (v: unknown): boolean => isStr(v) && (v as string).length > 0;
const isBytes = (v: unknown): boolean => v instanceof Uint8Array;
const isState = (v: unknown): boolean =>
  v === MemberState.Alive || v === MemberState.Suspect || v === MemberState.Dead || v === MemberState.Left;

function isTags(v: unknown): boolean {
  if (!isObj(v) || Array.isArray(v)) return false;
  for (const k in v) if (typeof v[k] !== 'string') return false;
  return true;
}

const isBool = (v: unknown): boolean => typeof v === 'boolean';

const isNodeState = (v: unknown): boolean =>
  isObj(v) && isName(v.name) && isName(v.addr) && isUint(v.incarnation) && isState(v.state) && isTags(v.tags);

/**
 * Shape check of a decoded message, so step() never throws on input a buggy
 * or hostile peer produced. Returns why it must be dropped, or undefined.
 */
export function checkMessage(m: unknown): DropReason | undefined {
  if (!isObj(m)) return DropReason.Malformed;
  const ok = ((): boolean | undefined => {
    switch (m.type) {
      case MessageType.Ping:
        return isUint(m.seqNo) && isStr(m.target) && isName(m.sourceName) && isName(m.sourceAddr);
      case MessageType.IndirectPing:
        return (
          isUint(m.seqNo) && isName(m.target) && isName(m.targetAddr) && isBool(m.nack) &&
          isName(m.sourceName) && isName(m.sourceAddr)
        );
      case MessageType.Ack:
        return isUint(m.seqNo) && (m.payload === undefined || isBytes(m.payload));
      case MessageType.Nack:
        return isUint(m.seqNo);
      case MessageType.Alive:
        return isUint(m.incarnation) && isName(m.name) && isName(m.addr) && isTags(m.tags);
      case MessageType.Suspect:
      case MessageType.Dead:
        return isUint(m.incarnation) && isName(m.name) && isName(m.from);
      case MessageType.Leave:
        return isUint(m.incarnation) && isName(m.name);
      case MessageType.PushPull:
        return (
          isBool(m.join) && isBool(m.reply) && isName(m.sourceName) && isName(m.sourceAddr) &&
          isUint(m.eventLtime) && Array.isArray(m.states) && m.states.every(isNodeState)
        );
      case MessageType.UserEvent:
        return isUint(m.ltime) && isName(m.name) && isBytes(m.payload) && isBool(m.coalesce);
      default:
        return undefined;
    }
  })();
  if (ok === undefined) return DropReason.UnknownType;
  return ok ? undefined : DropReason.Malformed;
}
