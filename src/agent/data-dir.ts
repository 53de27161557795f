/**
 * The agent's data directory: where it lives by default, and a lock so two
 * agents never share one (they would corrupt each other's Raft log and take
 * each other's identity).
 *
 * Default (never a temporary directory: a member whose state vanished at
 * every restart would rejoin as a stranger each time): /var/lib/shoal/NAME
 * for root, else $XDG_DATA_HOME/shoal/NAME (~/.local/share/shoal/NAME).
 *
 * The lock is DATA_DIR/LOCK holding the owner's pid, created exclusively. A
 * lock whose process is gone (a crash, SIGKILL) is taken over; one whose
 * process is alive refuses the start with ERR_DATA_DIR_LOCKED naming it.
 */
import { open, readFile, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ErrorCode, ShoalError } from '../util/errors.js';

export const lockFileName = 'LOCK';

export function defaultDataDir(name: string, env: NodeJS.ProcessEnv = process.env, uid: number = process.getuid?.() ?? -1): string {
  const safe = name.replace(/[^A-Za-z0-9_.-]/g, '_');
  if (uid === 0) return path.join('/var/lib/shoal', safe);
  const base = env.XDG_DATA_HOME !== undefined && env.XDG_DATA_HOME !== '' ? env.XDG_DATA_HOME : path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'shoal', safe);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but is someone else's.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface DataDirLock {
  release(): Promise<void>;
}

/** Take the data directory's lock, or throw ERR_DATA_DIR_LOCKED when a live process holds it. */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const file = path.join(dataDir, lockFileName);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o644);
      try {
        await fh.writeFile(`${process.pid}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      let released = false;
      return {
        release: async () => {
          if (released) return;
          released = true;
          await rm(file, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new ShoalError(ErrorCode.StorageIo, `cannot lock ${dataDir}: ${(e as Error).message}`, { cause: e });
      }
    }
    const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
      throw new ShoalError(ErrorCode.DataDirLocked, `data directory ${dataDir} is in use by another agent (pid ${owner}); give each agent its own --data-dir`, {
        details: { dataDir, pid: owner },
      });
    }
    if (owner === process.pid) {
      throw new ShoalError(ErrorCode.DataDirLocked, `data directory ${dataDir} is already in use by another agent in this process`, { details: { dataDir, pid: owner } });
    }
    // Left by a process that is gone (or unreadable): take it over.
    await rm(file, { force: true });
  }
  throw new ShoalError(ErrorCode.DataDirLocked, `could not take the lock of ${dataDir}`, { details: { dataDir } });
}
