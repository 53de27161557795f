/**
 * Small files that must survive a crash whole (control.json, node-id,
 * keyring.json): written to a temp file, fsynced, renamed over the old one,
 * and the directory fsynced, so a crash leaves the old file or the new one,
 * never a torn one.
 */
import { open, rename } from 'node:fs/promises';
import * as path from 'node:path';

export async function writeFileDurably(file: string, text: string, mode = 0o644): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  const dir = await open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
