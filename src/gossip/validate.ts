import { DropReason } from './events.js';
import { MemberState, MessageType } from './messages.js';

/** Longest name, address or event name accepted (matches the wire decoder's bound). */
export const STRING_BYTES_MAX = 512;

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null;
const isUint = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isStr = (v: unknown): boolean => typeof v === 'string' && v.length <= STRING_BYTES_MAX;
const isName = (v: unknown): boolean => isStr(v) && (v as string).length > 0;
const isBytes = (v: unknown): boolean => v instanceof Uint8Array;
const isState = (v: unknown): boolean =>
  v === MemberState.Alive || v === MemberState.Suspect || v === MemberState.Dead || v === MemberState.Left;

function isTags(v: unknown): boolean {
  if (!isObj(v) || Array.isArray(v)) return false;
  for (const x of Object.values(v)) if (typeof x !== 'string') return false;
  return true;
}

function fields(m: Obj, spec: Record<string, (v: unknown) => boolean>): boolean {
  for (const [k, check] of Object.entries(spec)) if (!check(m[k])) return false;
  return true;
}

const isNodeState = (v: unknown): boolean =>
  isObj(v) && fields(v, { name: isName, addr: isName, incarnation: isUint, state: isState, tags: isTags });

/**
 * Shape check of a decoded message, so step() never throws on input a buggy
 * or hostile peer produced. Returns why it must be dropped, or undefined.
 */
export function checkMessage(m: unknown): DropReason | undefined {
  if (!isObj(m)) return DropReason.Malformed;
  const ok = (() => {
    switch (m.type) {
      case MessageType.Ping:
        return fields(m, { seqNo: isUint, target: isStr, sourceName: isName, sourceAddr: isName });
      case MessageType.IndirectPing:
        return fields(m, {
          seqNo: isUint,
          target: isName,
          targetAddr: isName,
          nack: (v) => typeof v === 'boolean',
          sourceName: isName,
          sourceAddr: isName,
        });
      case MessageType.Ack:
        return isUint(m.seqNo) && (m.payload === undefined || isBytes(m.payload));
      case MessageType.Nack:
        return isUint(m.seqNo);
      case MessageType.Alive:
        return fields(m, { incarnation: isUint, name: isName, addr: isName, tags: isTags });
      case MessageType.Suspect:
      case MessageType.Dead:
        return fields(m, { incarnation: isUint, name: isName, from: isName });
      case MessageType.Leave:
        return fields(m, { incarnation: isUint, name: isName });
      case MessageType.PushPull:
        return (
          fields(m, {
            join: (v) => typeof v === 'boolean',
            reply: (v) => typeof v === 'boolean',
            sourceName: isName,
            sourceAddr: isName,
            eventLtime: isUint,
            states: Array.isArray,
          }) && (m.states as unknown[]).every(isNodeState)
        );
      case MessageType.UserEvent:
        return fields(m, { ltime: isUint, name: isName, payload: isBytes, coalesce: (v) => typeof v === 'boolean' });
      default:
        return undefined;
    }
  })();
  if (ok === undefined) return DropReason.UnknownType;
  return ok ? undefined : DropReason.Malformed;
}
