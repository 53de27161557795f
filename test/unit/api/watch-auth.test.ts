/** A watch outlives no revocation: its token is checked again every progress interval. */
import test from 'ava';
import { AclClient } from '../../../src/api/acl-client.js';
import { ConfigClient } from '../../../src/api/config-client.js';
import { WatchStreamLimits } from '../../../src/api/watch-stream.js';
import type { WatchLine } from '../../../src/api/watch-stream.js';
import { ErrorCode } from '../../../src/util/errors.js';
import { MANAGEMENT_TOKEN, startSecureServer } from './secure-fake.js';

// This file's process only: a short interval keeps the test fast.
(WatchStreamLimits as { progressIntervalMs: number }).progressIntervalMs = 100;

test('an open watch ends with an ERR_UNAUTHENTICATED line once its token is revoked', async (t) => {
  const s = await startSecureServer(t);
  const acl = new AclClient(s.address, { token: MANAGEMENT_TOKEN });
  const tok = await acl.createToken({ scope: 'read' });
  const writer = new ConfigClient(s.address, { token: MANAGEMENT_TOKEN });
  await writer.put({ key: 'w/1', value: '1' });
  const lines: WatchLine[] = [];
  const watching = (async () => {
    for await (const line of new ConfigClient(s.address, { token: tok.secret }).watch('w/', { fromRevision: 1 })) lines.push(line);
  })();
  while (!lines.some((l) => l.type === 'put')) await new Promise((r) => setTimeout(r, 10));
  await acl.revokeToken(tok.id);
  const revokedAt = performance.now();
  await watching;
  const last = lines[lines.length - 1]!;
  t.like(last, { type: 'error', error: { code: ErrorCode.Unauthenticated }, lastRevision: 2 });
  t.true(performance.now() - revokedAt < 1_000, 'within a couple of progress intervals');
  // The management token's watch goes on.
  const mgmt: WatchLine[] = [];
  const ac = new AbortController();
  const other = (async () => {
    for await (const line of writer.watch('w/', { signal: ac.signal })) mgmt.push(line);
  })();
  await new Promise((r) => setTimeout(r, 350));
  ac.abort();
  await other;
  t.false(mgmt.some((l) => l.type === 'error'));
  t.true(mgmt.some((l) => l.type === 'progress'));
});
