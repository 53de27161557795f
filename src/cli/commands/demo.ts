import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Agent } from '../../agent/agent.js';
import type { MemberView } from '../../api/types.js';
import { ExitCode, type CliIo } from '../io.js';
import { formatMembersTable, summarize } from '../table.js';

export interface DemoOptions {
  agents: number;
  basePort: number;
  /** HTTP API of agent 0 (so `shoal members` works against the demo); '' for none. */
  http: string;
  /** Stop by itself after this many seconds (0: run until Ctrl-C). */
  exitAfter: number;
}

export const DemoLimits = { refreshMs: 1_000, agentsMax: 64, bootstrapExpect: 3 } as const;

/**
 * `shoal demo`: N agents on 127.0.0.1 in this process, each joining agent 0
 * and running the control plane; the membership table and the Raft status (as
 * agent 0 sees them) are printed every second.
 */
export async function runDemoCommand(opts: DemoOptions, io: CliIo): Promise<number> {
  const agents: Agent[] = [];
  const events: string[] = [];
  const demoRoot = await mkdtemp(path.join(os.tmpdir(), 'shoal-demo-'));
  const stopAll = async (): Promise<void> => {
    await Promise.all(agents.map((a) => a.stop({ leave: true })));
    await rm(demoRoot, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < opts.agents; i++) {
      const port = opts.basePort === 0 ? 0 : opts.basePort + i;
      const agent = await Agent.start({
        name: `demo-${i}`,
        bind: `127.0.0.1:${port}`,
        preset: 'local',
        tags: { role: i === 0 ? 'seed' : 'member', index: String(i) },
        http: i === 0 && opts.http !== '' ? opts.http : undefined,
        join: i === 0 ? [] : [agents[0].addr],
        // The control plane too: the first three members to see each other bootstrap the Raft group.
        control: { bootstrapExpect: Math.min(DemoLimits.bootstrapExpect, opts.agents) },
        // A demo is throwaway: its data directories live under one temporary root, removed at exit.
        dataDir: path.join(demoRoot, `demo-${i}`),
      });
      agents.push(agent);
      for (const ev of i === 0 ? (['member-join', 'member-suspect', 'member-alive', 'member-failed', 'member-leave'] as const) : []) {
        agent.on(ev, (m: MemberView) => {
          if (events.length >= 8) events.shift();
          events.push(`${agent.name}: ${ev} ${m.name}`);
        });
      }
    }
  } catch (e) {
    await stopAll();
    throw e;
  }
  const header = `shoal demo: ${agents.length} agents on 127.0.0.1 (${agents.map((a) => a.addr.split(':')[1]).join(',')})` +
    (agents[0].httpAddress ? `, HTTP API of demo-0 on ${agents[0].httpAddress}` : '');
  const draw = (): void => {
    const view = agents[0].members();
    const converged = agents.every((a) => a.numAlive() === agents.length);
    const lines = [
      header,
      `${summarize(view)}${converged ? ' (converged: every agent sees every other alive)' : ' (converging...)'}`,
      raftLine(agents[0]),
      '',
      formatMembersTable(view),
      '',
      'recent events:',
      ...events.map((e) => `  ${e}`),
      '',
      'Ctrl-C leaves gracefully and exits.',
    ];
    io.out((io.isTty ? '\x1b[2J\x1b[H' : '') + lines.join('\n'));
  };
  draw();
  return new Promise<number>((resolve) => {
    const timer = setInterval(draw, DemoLimits.refreshMs);
    let stopping = false;
    const finish = (): void => {
      if (stopping) return;
      stopping = true;
      clearInterval(timer);
      process.off('SIGINT', finish);
      process.off('SIGTERM', finish);
      io.err('shoal demo: leaving...');
      void stopAll().then(() => resolve(ExitCode.Ok));
    };
    process.on('SIGINT', finish);
    process.on('SIGTERM', finish);
    if (opts.exitAfter > 0) setTimeout(finish, opts.exitAfter * 1000);
  });
}

function raftLine(agent: Agent): string {
  const s = agent.raftStatus();
  if (s === undefined) return 'raft: no control plane';
  if (!s.bootstrapped) return `raft: bootstrapping (${s.bootstrapState})`;
  return (
    `raft: leader ${s.leader || '(electing)'}, term ${s.term}, commit ${s.commitIndex}, applied ${s.appliedIndex}, ` +
    `voters [${s.voters.join(', ')}], learners [${s.learners.join(', ')}], config revision ${s.revision}`
  );
}
