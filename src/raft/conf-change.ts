/**
 * Single-server membership changes: a tiny private binary encoding for the
 * entry data ([version u8][type u8][node id utf-8]) and their effect on a
 * ConfState. Membership takes effect when the entry is APPLIED (advance()
 * after the shell applied it), as in etcd-io/raft; see raft.ts for the rules.
 */
import { ErrorCode, ShoalError } from '../util/errors.js';
import { ConfChangeType, type ConfChange, type ConfState, type NodeId } from './types.js';

const confChangeFormatVersion = 1;
/** Node ids are member names; bounded so a corrupt entry cannot claim megabytes. */
export const confChangeNodeIdMaxBytes = 256;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function isConfChangeType(t: number): t is ConfChangeType {
  return t === ConfChangeType.AddVoter || t === ConfChangeType.AddLearner || t === ConfChangeType.RemoveNode;
}

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const id = encoder.encode(cc.node);
  if (!isConfChangeType(cc.type) || id.length === 0 || id.length > confChangeNodeIdMaxBytes) {
    throw new ShoalError(ErrorCode.InvalidArgument, `invalid conf change ${JSON.stringify(cc)}`);
  }
  const out = new Uint8Array(2 + id.length);
  out[0] = confChangeFormatVersion;
  out[1] = cc.type;
  out.set(id, 2);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length < 3 || data.length > 2 + confChangeNodeIdMaxBytes || data[0] !== confChangeFormatVersion) {
    throw new ShoalError(ErrorCode.DecodeFailed, `bad conf change entry (${data.length} bytes)`);
  }
  const type = data[1];
  if (!isConfChangeType(type)) throw new ShoalError(ErrorCode.DecodeFailed, `unknown conf change type ${type}`);
  let node: NodeId;
  try {
    node = decoder.decode(data.subarray(2));
  } catch (cause) {
    throw new ShoalError(ErrorCode.DecodeFailed, 'conf change node id is not utf-8', { cause });
  }
  return { type, node };
}

/** The membership after `cc`. AddVoter promotes a learner; AddLearner demotes a voter. */
export function applyConfChange(conf: ConfState, cc: ConfChange): ConfState {
  const voters = conf.voters.filter((v) => v !== cc.node);
  const learners = conf.learners.filter((l) => l !== cc.node);
  if (cc.type === ConfChangeType.AddVoter) voters.push(cc.node);
  else if (cc.type === ConfChangeType.AddLearner) learners.push(cc.node);
  return { voters: voters.sort(), learners: learners.sort() };
}

/** Why a leader refuses `cc` against `conf`, or undefined if it is acceptable. */
export function confChangeRefusal(conf: ConfState, cc: ConfChange): string | undefined {
  const next = applyConfChange(conf, cc);
  if (next.voters.length === 0) return `refusing ${describeConfChange(cc)}: it would leave no voters`;
  return undefined;
}

export function describeConfChange(cc: ConfChange): string {
  const name =
    cc.type === ConfChangeType.AddVoter ? 'AddVoter' : cc.type === ConfChangeType.AddLearner ? 'AddLearner' : 'RemoveNode';
  return `${name}(${cc.node})`;
}
