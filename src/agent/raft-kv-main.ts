/**
 * A Raft KV node as a process:
 *
 *   node dist/src/agent/raft-kv-main.js --id n1 \
 *     --peers n1=127.0.0.1:9101,n2=127.0.0.1:9102,n3=127.0.0.1:9103 \
 *     --http 127.0.0.1:9201 --data-dir DIR
 *
 * On start it writes one line to stderr:
 *   raft-kv: n1 raft=127.0.0.1:9101 http=127.0.0.1:9201 ready
 * SIGTERM / SIGINT close it cleanly (exit 0); a fatal storage error exits 1.
 */
import { parseArgs } from 'node:util';
import { parseHostPort, formatHostPort, type HostPort } from '../util/address.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { RaftKvServer } from './raft-kv-server.js';
import { RaftShell } from './raft-shell.js';

/** A clean shutdown that takes longer than this exits with code 1 anyway. */
const shutdownDeadlineMs = 5000;

function log(line: string): void {
  process.stderr.write(`raft-kv: ${line}\n`);
}

function parsePeers(text: string): Map<string, HostPort> {
  const peers = new Map<string, HostPort>();
  for (const part of text.split(',').filter((p) => p.length > 0)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ShoalError(ErrorCode.InvalidArgument, `bad peer "${part}": expected ID=HOST:PORT`);
    const id = part.slice(0, eq);
    if (peers.has(id)) throw new ShoalError(ErrorCode.InvalidArgument, `peer ${id} listed twice`);
    peers.set(id, parseHostPort(part.slice(eq + 1)));
  }
  return peers;
}

function optionalInt(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new ShoalError(ErrorCode.InvalidArgument, `--${name} must be a positive integer`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      id: { type: 'string' },
      peers: { type: 'string' },
      http: { type: 'string', default: '127.0.0.1:0' },
      'data-dir': { type: 'string' },
      'tick-ms': { type: 'string' },
      'election-ticks': { type: 'string' },
      'heartbeat-ticks': { type: 'string' },
      'snapshot-every': { type: 'string' },
      'proposal-timeout-ms': { type: 'string' },
    },
    strict: true,
  });
  if (values.id === undefined || values.peers === undefined || values['data-dir'] === undefined) {
    throw new ShoalError(ErrorCode.InvalidArgument, 'usage: raft-kv-main --id ID --peers ID=HOST:PORT,... --http HOST:PORT --data-dir DIR');
  }
  const voters = parsePeers(values.peers);
  const shell = await RaftShell.start(
    {
      id: values.id,
      voters,
      dataDir: values['data-dir'],
      tickMs: optionalInt(values['tick-ms'], 'tick-ms'),
      electionTicks: optionalInt(values['election-ticks'], 'election-ticks'),
      heartbeatTicks: optionalInt(values['heartbeat-ticks'], 'heartbeat-ticks'),
      snapshotEveryEntries: optionalInt(values['snapshot-every'], 'snapshot-every'),
      proposalTimeoutMs: optionalInt(values['proposal-timeout-ms'], 'proposal-timeout-ms'),
      readTimeoutMs: optionalInt(values['proposal-timeout-ms'], 'proposal-timeout-ms'),
    },
    {
      onFatal: (e) => {
        log(`fatal: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(1);
      },
    },
  );
  let server: RaftKvServer;
  try {
    server = await RaftKvServer.listen(parseHostPort(values.http), shell);
  } catch (e) {
    await shell.close();
    throw e;
  }
  log(`${values.id} raft=${formatHostPort(voters.get(values.id)!)} http=${formatHostPort(server.address)} ready`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${values.id} ${signal}: closing`);
    setTimeout(() => {
      log(`${values.id} did not close within ${shutdownDeadlineMs} ms`);
      process.exit(1);
    }, shutdownDeadlineMs).unref();
    const serverClosed = server.close();
    void shell
      .close()
      .then(() => serverClosed)
      .then(() => {
        log(`${values.id} closed${shell.leadershipHandOffs > 0 ? ' (leadership handed off)' : ''}`);
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => {
  log(`cannot start: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(2);
});
