import { Agent, type AgentEvents } from '../../agent/agent.js';
import type { AgentConfig, PresetName } from '../../agent/config.js';
import type { ControlAgentOptions } from '../../agent/control-options.js';
import type { MemberView } from '../../api/types.js';
import { ErrorCode, isShoalError } from '../../util/errors.js';
import { ExitCode, UsageError, type CliIo } from '../io.js';
import { exposureOf, startWarnings } from '../warnings.js';

export interface AgentCommandOptions {
  name?: string;
  bind: string;
  advertise?: string;
  clusterLabel?: string;
  http: string;
  join?: string[];
  retryJoin?: string[];
  dataDir?: string;
  tags?: Record<string, string>;
  preset: PresetName;
  /** Control plane options: `shoal agent` always runs the control plane. */
  control: ControlAgentOptions;
  /** HTTP API security: management token, TLS certificate and key files. */
  apiToken?: string;
  apiTlsCert?: string;
  apiTlsKey?: string;
  encrypt?: string;
  verifyIncoming?: 'on' | 'off';
  verifyOutgoing?: 'on' | 'off';
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
}

const MEMBER_EVENTS = [
  'member-join',
  'member-update',
  'member-suspect',
  'member-alive',
  'member-failed',
  'member-leave',
  'member-reaped',
  'name-conflict',
] as const satisfies readonly (keyof AgentEvents)[];

export function formatEventLine(event: string, m: MemberView): string {
  return `${new Date().toISOString()} ${event} ${m.name} ${m.addr} state=${m.state} incarnation=${m.incarnation}`;
}

/**
 * `shoal agent`: runs until SIGTERM/SIGINT, then leaves gracefully and
 * resolves 0. A second signal exits at once.
 */
export async function runAgentCommand(opts: AgentCommandOptions, io: CliIo): Promise<number> {
  const config: AgentConfig = {
    name: opts.name,
    bind: opts.bind,
    advertise: opts.advertise,
    clusterLabel: opts.clusterLabel,
    http: opts.http,
    join: opts.join ?? [],
    retryJoin: opts.retryJoin ?? [],
    dataDir: opts.dataDir,
    tags: opts.tags ?? {},
    preset: opts.preset,
    control: opts.control,
    apiToken: opts.apiToken,
    apiTlsCert: opts.apiTlsCert,
    apiTlsKey: opts.apiTlsKey,
    encrypt: opts.encrypt,
    ...(opts.verifyIncoming === undefined ? {} : { verifyIncoming: opts.verifyIncoming === 'on' }),
    ...(opts.verifyOutgoing === undefined ? {} : { verifyOutgoing: opts.verifyOutgoing === 'on' }),
    tlsCert: opts.tlsCert,
    tlsKey: opts.tlsKey,
    tlsCa: opts.tlsCa,
  };
  let agent: Agent;
  try {
    agent = await Agent.start(config);
  } catch (e) {
    if (isShoalError(e, ErrorCode.InvalidConfig)) throw new UsageError(e.message);
    throw e;
  }
  for (const ev of MEMBER_EVENTS) agent.on(ev, (m) => io.err(formatEventLine(ev, m)));
  io.err(`shoal: agent ${agent.name} gossip=${agent.addr} http=${agent.httpAddress ?? '-'} preset=${opts.preset}`);
  // Mutual TLS covers the streams only: gossip datagrams need a key too.
  for (const line of startWarnings(exposureOf(agent.settings, agent.encrypted))) io.err(line);
  for (const line of agent.warnings) io.err(`shoal: warning: ${line}`);

  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        io.err(`shoal: ${sig} again, exiting without waiting`);
        resolve(ExitCode.Failure);
        return;
      }
      io.err(`shoal: ${sig}: leaving the cluster`);
      void agent.stop({ leave: true });
    };
    // SIGHUP reloads what can change without a restart: the cluster TLS certificates.
    const onHup = (): void => {
      agent.reloadTls().then(
        (reloaded) => io.err(reloaded ? 'shoal: SIGHUP: TLS certificates reloaded' : 'shoal: SIGHUP: nothing to reload'),
        (e: unknown) => io.err(`shoal: SIGHUP: reload failed, keeping the old certificates: ${e instanceof Error ? e.message : String(e)}`),
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGHUP', onHup);
    agent.on('control-failed', () => io.err(`shoal: error: ${agent.failureReason ?? 'the control plane halted'}; leaving the cluster`));
    agent.on('listener-error', ({ event, error }) => io.err(`shoal: error: a ${event} listener threw: ${error instanceof Error ? error.message : String(error)}`));
    agent.once('stopped', () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      process.off('SIGHUP', onHup);
      const failure = agent.failureReason;
      io.err(failure === undefined ? `shoal: agent ${agent.name} stopped` : `shoal: agent ${agent.name} stopped: ${failure}`);
      // Non-zero after a halt, as etcd exits on a fatal storage error: the supervisor restarts it.
      resolve(failure === undefined ? ExitCode.Ok : ExitCode.Failure);
    });
  });
}
