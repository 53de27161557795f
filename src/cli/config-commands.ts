/**
 * `shoal config get|put|del|watch|txn` and `shoal lease grant|keepalive|revoke`
 * and `shoal raft status|transfer-leader|remove-peer`: thin clients of the
 * agent's HTTP API (--http, default 127.0.0.1:7947).
 */
import { readFile } from 'node:fs/promises';
import { ConfigClient } from '../api/config-client.js';
import type { RaftStatusView, TxnRequest } from '../api/config-types.js';
import { clientOptions, type ClientFlags } from './connection.js';
import { ExitCode, UsageError, type CliIo } from './io.js';

type HttpOpt = ClientFlags;

const configClient = (opts: ClientFlags): ConfigClient => new ConfigClient(opts.http, clientOptions(opts));

export async function runConfigGet(key: string, opts: HttpOpt & { prefix?: boolean; serializable?: boolean; json?: boolean }, io: CliIo): Promise<number> {
  const client = configClient(opts);
  if (opts.prefix) {
    const r = await client.range(key, { serializable: opts.serializable === true });
    if (opts.json) io.out(JSON.stringify(r, null, 2));
    else for (const kv of r.kvs) io.out(`${kv.key}=${kv.value}`);
    return ExitCode.Ok;
  }
  const kv = await client.get(key, { serializable: opts.serializable === true });
  if (kv === undefined) {
    io.err(`shoal: key "${key}" not found`);
    return ExitCode.Failure;
  }
  io.out(opts.json ? JSON.stringify(kv, null, 2) : kv.value);
  return ExitCode.Ok;
}

export async function runConfigPut(key: string, value: string, opts: HttpOpt & { lease?: number; prevRevision?: number }, io: CliIo): Promise<number> {
  const r = await configClient(opts).put({
    key,
    value,
    ...(opts.lease === undefined ? {} : { lease: opts.lease }),
    ...(opts.prevRevision === undefined ? {} : { prevRevision: opts.prevRevision }),
  });
  io.out(`revision ${r.revision}`);
  return ExitCode.Ok;
}

export async function runConfigDel(key: string, opts: HttpOpt, io: CliIo): Promise<number> {
  const r = await configClient(opts).delete(key);
  io.out(`deleted ${r.deleted} (revision ${r.revision})`);
  return ExitCode.Ok;
}

/** Prints one line per change until interrupted (or --count changes were printed). */
export async function runConfigWatch(prefix: string, opts: HttpOpt & { fromRevision?: number; json?: boolean; count?: number }, io: CliIo): Promise<number> {
  const ac = new AbortController();
  const onSignal = (): void => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let printed = 0;
  try {
    for await (const line of configClient(opts).watch(prefix, { signal: ac.signal, ...(opts.fromRevision === undefined ? {} : { fromRevision: opts.fromRevision }) })) {
      if (line.type === 'progress') continue;
      if (line.type === 'error') {
        io.err(`shoal: watch closed: ${line.error.message} (${line.error.code}); resume with --from-revision ${line.lastRevision + 1}`);
        return ExitCode.Failure;
      }
      if (opts.json) io.out(JSON.stringify(line));
      else if (line.type === 'created') io.err(`watching "${prefix}" from revision ${line.fromRevision}`);
      else io.out(line.type === 'put' ? `${line.revision} PUT ${line.kv.key}=${line.kv.value}` : `${line.revision} DELETE ${line.kv.key}`);
      if (line.type !== 'created' && opts.count !== undefined && ++printed >= opts.count) break;
    }
    return ExitCode.Ok;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The txn body as JSON from a file, or from stdin with "-". */
export async function runConfigTxn(file: string, opts: HttpOpt, io: CliIo): Promise<number> {
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  let body: Partial<TxnRequest>;
  try {
    body = JSON.parse(text) as Partial<TxnRequest>;
  } catch {
    throw new UsageError(`${file} is not JSON`);
  }
  const r = await configClient(opts).txn(body);
  io.out(JSON.stringify(r, null, 2));
  return r.succeeded ? ExitCode.Ok : ExitCode.Failure;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function runLeaseGrant(ttlSeconds: number, opts: HttpOpt, io: CliIo): Promise<number> {
  const r = await configClient(opts).leaseGrant({ ttlMs: ttlSeconds * 1000 });
  io.out(`lease ${r.id} granted with TTL ${r.ttlMs / 1000}s`);
  return ExitCode.Ok;
}

/** One keep-alive, or with --every SECONDS one per period until interrupted. */
export async function runLeaseKeepAlive(id: number, opts: HttpOpt & { every?: number }, io: CliIo): Promise<number> {
  const client = configClient(opts);
  const once = async (): Promise<void> => {
    const r = await client.leaseKeepAlive(id);
    io.out(`lease ${r.id} kept alive, TTL ${r.ttlMs / 1000}s`);
  };
  await once();
  if (opts.every === undefined) return ExitCode.Ok;
  const everyMs = opts.every * 1000;
  return new Promise<number>((resolve) => {
    const finish = (code: number): void => {
      clearInterval(timer);
      process.off('SIGINT', onSignal);
      resolve(code);
    };
    const onSignal = (): void => finish(ExitCode.Ok);
    const timer = setInterval(() => {
      once().catch((e: Error) => {
        io.err(`shoal: keep-alive failed: ${e.message}`);
        finish(ExitCode.Failure);
      });
    }, everyMs);
    process.once('SIGINT', onSignal);
  });
}

export async function runLeaseRevoke(id: number, opts: HttpOpt, io: CliIo): Promise<number> {
  const r = await configClient(opts).leaseRevoke(id);
  io.out(`lease ${id} revoked, ${r.deleted} key(s) deleted (revision ${r.revision})`);
  return ExitCode.Ok;
}

export function formatRaftStatus(s: RaftStatusView): string {
  const rows: [string, string][] = [
    ['name', s.name],
    ['role', s.role],
    ['leader', s.leader || '(none)'],
    ['term', String(s.term)],
    ['commit', String(s.commitIndex)],
    ['applied', String(s.appliedIndex)],
    ['revision', String(s.revision)],
    ['voters', s.voters.join(', ') || '(none)'],
    ['learners', s.learners.join(', ') || '(none)'],
    ['cluster', s.clusterId || '(not bootstrapped)'],
  ];
  return rows.map(([k, v]) => `${k.padEnd(9)} ${v}`).join('\n');
}

export async function runRaftStatus(opts: HttpOpt & { json?: boolean }, io: CliIo): Promise<number> {
  const s = await configClient(opts).raftStatus();
  io.out(opts.json ? JSON.stringify(s, null, 2) : formatRaftStatus(s));
  return ExitCode.Ok;
}

export async function runRaftTransferLeader(name: string | undefined, opts: HttpOpt, io: CliIo): Promise<number> {
  const r = await configClient(opts).transferLeader(name);
  io.out(`leader is now ${r.leader}`);
  return ExitCode.Ok;
}

export async function runRaftRemovePeer(name: string, opts: HttpOpt, io: CliIo): Promise<number> {
  const r = await configClient(opts).removePeer(name);
  io.out(`removed ${r.removed}`);
  return ExitCode.Ok;
}
