/** Data directories for in-process agents: one temporary root per test, removed when it ends. */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function tempDataDirs(t: { teardown(fn: () => void | Promise<void>): void }): (name: string) => string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'shoal-test-'));
  // Registered first, so it runs after the agents' own teardowns have stopped them.
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  return (name) => path.join(root, name);
}
