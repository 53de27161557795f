/**
 * The node id: a random id made once per data directory (dataDir/node-id)
 * and kept for its life. A member whose data directory was wiped comes back
 * with a new one, so its peers can tell it from the member it replaced.
 * Without a data directory the id is new on every start.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileDurably } from '../storage/atomic-file.js';
import * as path from 'node:path';
import { ErrorCode, ShoalError } from '../util/errors.js';

export const nodeIdFileName = 'node-id';
const nodeIdPattern = /^[0-9a-f]{16}$/;

export function newNodeId(): string {
  return randomBytes(8).toString('hex');
}

/** Read dataDir/node-id, or create it (temp file, fsync, rename) on first start. */
export async function loadNodeId(dataDir: string | undefined): Promise<string> {
  if (dataDir === undefined) return newNodeId();
  const file = path.join(dataDir, nodeIdFileName);
  try {
    const text = (await readFile(file, 'utf8')).trim();
    if (!nodeIdPattern.test(text)) throw new ShoalError(ErrorCode.CorruptRecord, `${file} does not hold a node id (16 hex digits); remove it only if this data directory is to become a new member`);
    return text;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (e instanceof ShoalError) throw e;
      throw new ShoalError(ErrorCode.StorageIo, `cannot read ${file}: ${(e as Error).message}`, { cause: e });
    }
  }
  const id = newNodeId();
  await writeFileDurably(file, id + '\n');
  return id;
}
