/**
 * GET /v1/config/watch?prefix=P&fromRevision=N: a stream of JSON lines
 * (content-type application/x-ndjson), one object per line:
 *
 *   {"type":"created","startRevision":R,"fromRevision":F}   first: the watch is open
 *   {"type":"put"|"delete","revision":N,"kv":{...},"prevKv"?:{...}}  one per change, in revision order
 *   {"type":"progress","revision":R}                           every progressIntervalMs while idle, and when the store
 *                                                              reports progress: every change up to R is delivered or did not match
 *   {"type":"error","error":{"code","message","details"?},"lastRevision":N}  last, then the stream ends
 *
 * Without fromRevision only changes after the current revision follow. A
 * fromRevision below the oldest kept revision is refused before the stream
 * starts: 410 ERR_COMPACTED with details.oldestRevision. After an error line
 * (or a dropped connection) resume with fromRevision = lastRevision + 1 (or
 * the last revision seen + 1). Flow control is the socket's: while the
 * client does not read, the watch holds back and is cancelled as slow
 * (ERR_SLOW_WATCHER) past the store's bound.
 *
 * A client with watchesPerClientMax streams open (client-limits.ts) is
 * refused with 429 ERR_RESOURCE_EXHAUSTED before the stream starts.
 *
 * A prefix under `shoal/` is refused (403); one that covers it among other
 * keys streams without the system keys' changes. With tokens on, the
 * request's token is checked again every progressIntervalMs: once it is
 * revoked the stream ends with an ERR_UNAUTHENTICATED error line.
 */
import type * as http from 'node:http';
import { ErrorCode } from '../util/errors.js';
import { errorBody, HttpError } from './config-http.js';
import { checkPrefix, parseQuery } from './config-schema.js';
import { checkPublicPrefix, isSystemKey } from './system-keys.js';
import type { ControlApi, WatchEventView, WatchStreamHandle } from './config-types.js';
import type { ClientQuota } from './client-limits.js';

export const WatchStreamLimits = {
  /** An idle stream says it is alive this often, so proxies and clients can tell idle from dead. */
  progressIntervalMs: 5_000,
  /** Batches held while the stream's headers are not yet out (the replay is held back past it). */
  earlyBatchesMax: 16,
} as const;

export type WatchLine =
  | { type: 'created'; startRevision: number; fromRevision: number }
  | ({ type: 'put' | 'delete' } & Omit<WatchEventView, 'type'>)
  /** The stream has delivered (or skipped as not matching) every change up to `revision`: resume from revision + 1. */
  | { type: 'progress'; revision?: number }
  | { type: 'error'; error: { code: string; message: string; details?: Record<string, unknown> }; lastRevision: number };

function linesOf(events: WatchEventView[]): string {
  let text = '';
  for (const e of events) text += JSON.stringify(e satisfies WatchLine) + '\n';
  return text;
}

export async function serveWatch(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  api: ControlApi,
  recheck?: () => Promise<void>,
  quota?: ClientQuota,
): Promise<void> {
  const q = parseQuery(url.searchParams, { prefix: 'string', fromRevision: 'uint' });
  const prefix = checkPrefix(q.prefix ?? '', 'prefix');
  const hideSystem = checkPublicPrefix(prefix, 'prefix') === 'mixed';
  if (q.fromRevision === 0) throw new HttpError(400, ErrorCode.InvalidArgument, 'fromRevision must be at least 1', { field: 'fromRevision' });
  // 429 past the client's watchesPerClientMax; the slot is freed when the response closes, however it ends.
  quota?.holdWatch(res);
  const ac = new AbortController();
  let streaming = false;
  let handle: WatchStreamHandle | undefined;
  let early: WatchEventView[][] = [];
  let ended = false;
  let timer: NodeJS.Timeout | undefined;
  const finish = (error: unknown, lastRevision: number): void => {
    if (ended) return;
    ended = true;
    if (timer) clearInterval(timer);
    if (streaming && !res.destroyed) {
      if (error !== undefined) res.write(JSON.stringify({ type: 'error', error: errorBody(error).error, lastRevision } satisfies WatchLine) + '\n');
      res.end();
    }
  };
  let pendingClose: { error: unknown; lastRevision: number } | undefined;
  /** The revision of the last change handed to the stream (resume point after an auth error line). */
  let seenRevision = (q.fromRevision ?? 1) - 1;
  const sink = {
    events(all: WatchEventView[]): boolean {
      if (ended) return false;
      if (all.length > 0) seenRevision = all[all.length - 1]!.revision;
      const events = hideSystem ? all.filter((e) => !isSystemKey(e.kv.key)) : all;
      if (events.length === 0) return true;
      if (!streaming) {
        early.push(events);
        return early.length < WatchStreamLimits.earlyBatchesMax;
      }
      const ok = res.write(linesOf(events));
      if (!ok) res.once('drain', () => handle?.resume());
      return ok;
    },
    closed(error: unknown, lastRevision: number): void {
      if (!streaming) pendingClose = { error, lastRevision };
      else finish(error, lastRevision);
    },
    /** The watch has seen every change up to `revision` (etcd's progress notify): a resume point even when nothing matched. */
    progress(revision: number): boolean {
      if (ended) return false;
      seenRevision = Math.max(seenRevision, revision);
      if (streaming && res.writableLength === 0) res.write(JSON.stringify({ type: 'progress', revision: seenRevision } satisfies WatchLine) + '\n');
      return true;
    },
  };
  res.on('close', () => {
    ac.abort();
    if (timer) clearInterval(timer);
    ended = true;
    handle?.cancel();
  });
  // Throws (ERR_COMPACTED, ERR_INVALID_ARGUMENT...) before anything is written: an ordinary error answer.
  handle = await api.watch(prefix, q.fromRevision, sink, { signal: ac.signal });
  seenRevision = Math.max(seenRevision, handle.fromRevision - 1);
  if (res.destroyed) {
    handle.cancel();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
  streaming = true;
  res.write(JSON.stringify({ type: 'created', startRevision: handle.startRevision, fromRevision: handle.fromRevision } satisfies WatchLine) + '\n');
  const held = early;
  early = [];
  let text = '';
  for (const events of held) text += linesOf(events);
  const drained = text.length === 0 || res.write(text);
  if (pendingClose !== undefined) return finish(pendingClose.error, pendingClose.lastRevision);
  if (held.length > 0) {
    // The store may have been held back by the early batches: let it go on once they are out.
    if (drained) handle.resume();
    else res.once('drain', () => handle?.resume());
  }
  let rechecking = false;
  timer = setInterval(() => {
    if (!ended && res.writableLength === 0) res.write(JSON.stringify({ type: 'progress', revision: seenRevision } satisfies WatchLine) + '\n');
    if (recheck === undefined || rechecking || ended) return;
    rechecking = true;
    recheck().then(
      () => (rechecking = false),
      (e: unknown) => {
        finish(e, seenRevision);
        handle?.cancel();
      },
    );
  }, WatchStreamLimits.progressIntervalMs);
  timer.unref();
}
