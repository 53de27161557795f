import { readFile, rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { Address } from '../util/address.js';

/**
 * The member snapshot in dataDir (serf's snapshot_path, much simplified):
 * the addresses of the members last seen alive, so a restarted agent can
 * rejoin without seeds. A graceful leave writes an empty list (a node that
 * left on purpose does not rejoin by itself). Written to a temp file and
 * renamed, so a crash leaves the old or the new file, never half of one.
 */
export const SnapshotLimits = {
  /** How often a running agent rewrites the snapshot. */
  writeIntervalMs: 30_000,
  /** Addresses kept; a rejoin needs only a few live ones. */
  addrsMax: 64,
  /** Bigger files are ignored (not ours or corrupt). */
  fileMaxBytes: 64 * 1024,
} as const;

export const SNAPSHOT_FILE = 'members.json';

interface SnapshotFile {
  version: 1;
  name: string;
  left: boolean;
  addrs: Address[];
}

export async function writeSnapshot(dataDir: string, name: string, addrs: Address[], left: boolean): Promise<void> {
  const body: SnapshotFile = { version: 1, name, left, addrs: addrs.slice(0, SnapshotLimits.addrsMax) };
  const file = path.join(dataDir, SNAPSHOT_FILE);
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify(body) + '\n', { mode: 0o644 });
  await rename(tmp, file);
}

/** Addresses to rejoin, or [] when there is no usable snapshot (missing, corrupt, left, another node's). */
export async function readSnapshot(dataDir: string, name: string): Promise<Address[]> {
  let text: string;
  try {
    const buf = await readFile(path.join(dataDir, SNAPSHOT_FILE));
    if (buf.length > SnapshotLimits.fileMaxBytes) return [];
    text = buf.toString('utf8');
  } catch {
    return [];
  }
  try {
    const parsed = JSON.parse(text) as Partial<SnapshotFile>;
    if (parsed.version !== 1 || parsed.name !== name || parsed.left === true || !Array.isArray(parsed.addrs)) return [];
    return parsed.addrs.filter((a): a is Address => typeof a === 'string' && /:\d+$/.test(a)).slice(0, SnapshotLimits.addrsMax);
  } catch {
    return [];
  }
}
