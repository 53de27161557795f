/**
 * The control plane's small durable facts beside the Raft storage, in
 * dataDir/control.json: the cluster id and the initial Raft configuration
 * (written once when the member bootstraps or joins) and the bootstrap
 * commitment (written once, never changed). Written to a temp file, fsynced
 * and renamed, so a crash leaves the old or the new file.
 */
import { readFile } from 'node:fs/promises';
import { writeFileDurably } from '../storage/atomic-file.js';
import * as path from 'node:path';
import type { BootCommitment } from '../control/autopilot/bootstrap.js';
import type { ConfState } from '../raft/types.js';
import { ErrorCode, ShoalError } from '../util/errors.js';

export interface ControlMeta {
  clusterId?: string;
  /** The Raft configuration the member started with (RaftStorage.load needs it when no snapshot is stored). */
  initialConf?: ConfState;
  bootCommitment?: BootCommitment;
  /** Joined an existing cluster with an empty log and not yet confirmed by the leader's identity record: no votes (src/control/identity.ts). */
  fresh?: boolean;
}

/** control.json is a few hundred bytes; refuse anything absurd rather than parse it. */
const metaBytesMax = 64 * 1024;

export const metaFile = (dataDir: string): string => path.join(dataDir, 'control.json');

export async function readControlMeta(dataDir: string): Promise<ControlMeta> {
  let text: string;
  try {
    text = await readFile(metaFile(dataDir), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ShoalError(ErrorCode.StorageIo, `cannot read ${metaFile(dataDir)}: ${(e as Error).message}`, { cause: e });
  }
  if (text.length > metaBytesMax) throw new ShoalError(ErrorCode.CorruptRecord, `${metaFile(dataDir)} is larger than ${metaBytesMax} bytes`);
  try {
    const o = JSON.parse(text) as ControlMeta;
    const meta: ControlMeta = {};
    if (typeof o.clusterId === 'string') meta.clusterId = o.clusterId;
    if (o.initialConf && Array.isArray(o.initialConf.voters) && Array.isArray(o.initialConf.learners)) meta.initialConf = o.initialConf;
    if (o.bootCommitment && Array.isArray(o.bootCommitment.candidate)) meta.bootCommitment = o.bootCommitment;
    if (o.fresh === true) meta.fresh = true;
    return meta;
  } catch (e) {
    throw new ShoalError(ErrorCode.CorruptRecord, `${metaFile(dataDir)} is not valid JSON`, { cause: e });
  }
}

export async function writeControlMeta(dataDir: string, meta: ControlMeta): Promise<void> {
  await writeFileDurably(metaFile(dataDir), JSON.stringify(meta) + '\n');
}
