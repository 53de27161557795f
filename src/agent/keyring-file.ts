/**
 * The gossip keyring of a member, kept in DATA_DIR/keyring.json so rotations
 * survive restarts (serf's keyring file). `--encrypt KEY` seeds the file on
 * first start; afterwards the file is authoritative (it holds what `shoal
 * keyring install/use/remove` did since). Written to a temp file, fsynced
 * and renamed.
 *
 *   {"primary": "<base64>", "keys": ["<base64>", ...], "verifyIncoming": true, "verifyOutgoing": true}
 */
import { readFile } from 'node:fs/promises';
import { writeFileDurably } from '../storage/atomic-file.js';
import * as path from 'node:path';
import { Keyring, formatKey, keyringKeysMax, parseKey } from '../wire/crypto.js';
import { ErrorCode, ShoalError } from '../util/errors.js';

export const keyringFileName = 'keyring.json';
/** A keyring file is a few hundred bytes; refuse anything absurd rather than parse it. */
const keyringFileBytesMax = 16 * 1024;

export interface KeyringState {
  keyring: Keyring;
  verifyIncoming: boolean;
  verifyOutgoing: boolean;
}

export function keyringFile(dataDir: string): string {
  return path.join(dataDir, keyringFileName);
}

/** The keyring stored in dataDir, or undefined when there is none. Throws ERR_CORRUPT_RECORD naming the file when it is unreadable. */
export async function readKeyringFile(dataDir: string): Promise<KeyringState | undefined> {
  const file = keyringFile(dataDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ShoalError(ErrorCode.StorageIo, `cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  const bad = (why: string): ShoalError => new ShoalError(ErrorCode.CorruptRecord, `${file}: ${why}`);
  if (text.length > keyringFileBytesMax) throw bad(`larger than ${keyringFileBytesMax} bytes`);
  let o: { primary?: unknown; keys?: unknown; verifyIncoming?: unknown; verifyOutgoing?: unknown };
  try {
    o = JSON.parse(text) as typeof o;
  } catch {
    throw bad('not valid JSON');
  }
  if (typeof o.primary !== 'string' || !Array.isArray(o.keys) || o.keys.length > keyringKeysMax) throw bad('needs "primary" and at most 16 "keys"');
  try {
    const primary = parseKey(o.primary);
    const others = o.keys.filter((k): k is string => typeof k === 'string' && k !== o.primary).map(parseKey);
    return {
      keyring: new Keyring(primary, others),
      verifyIncoming: o.verifyIncoming !== false,
      verifyOutgoing: o.verifyOutgoing !== false,
    };
  } catch (e) {
    throw bad(e instanceof Error ? e.message : String(e));
  }
}

export async function writeKeyringFile(dataDir: string, state: KeyringState): Promise<void> {
  const file = keyringFile(dataDir);
  const body = {
    primary: formatKey(state.keyring.primaryKey),
    keys: state.keyring.keys.map(formatKey),
    verifyIncoming: state.verifyIncoming,
    verifyOutgoing: state.verifyOutgoing,
  };
  // The keys are secrets: owner-only.
  await writeFileDurably(file, JSON.stringify(body, null, 2) + '\n', 0o600);
}
