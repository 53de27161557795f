import test from 'ava';
import { runCli } from '../../../src/cli/program.js';
import type { CliIo } from '../../../src/cli/io.js';
import { parseAddressArg, parseTagsArg, parsePresetArg } from '../../../src/cli/args.js';
import { formatMembersTable } from '../../../src/cli/table.js';
import { HttpApiServer } from '../../../src/api/http-server.js';
import type { MembershipService, MemberView } from '../../../src/api/types.js';

function capture(): CliIo & { outLines: string[]; errLines: string[] } {
  const outLines: string[] = [];
  const errLines: string[] = [];
  return { outLines, errLines, out: (l) => outLines.push(l), err: (l) => errLines.push(l), isTty: false };
}

async function cli(...args: string[]) {
  const io = capture();
  const code = await runCli(['node', 'shoal', ...args], io);
  return { code, out: io.outLines.join('\n'), err: io.errLines.join('\n'), errLines: io.errLines };
}

const usageCases: [string[], RegExp][] = [
  [['agent', '--bind', 'nohost'], /--bind.*"nohost" is not HOST:PORT/],
  [['agent', '--bind', '127.0.0.1:70000'], /port 0\.\.65535/],
  [['agent', '--join', '127.0.0.1:0'], /port must be 1\.\.65535/],
  [['agent', '--advertise', 'x y:1'], /no valid host/],
  [['agent', '--tags', 'role'], /tag "role" is not KEY=VALUE/],
  [['agent', '--tags', 'a=1,a=2'], /tag "a" given twice/],
  [['agent', '--preset', 'fast'], /unknown preset "fast" \(expected lan, wan, local\)/],
  [['agent', '--nope'], /unknown option '--nope'/],
  [['agent', '--name', 'has space', '--bind', '127.0.0.1:0', '--http', '127.0.0.1:0'], /name must be a non-empty string without spaces/],
  [['members', '--http', 'localhost'], /is not HOST:PORT/],
  [['join'], /missing required argument/],
  [['join', 'bad'], /"bad" is not HOST:PORT/],
  [['demo', '--agents', '0'], /not an integer in 1\.\.64/],
  [['frobnicate'], /unknown command/],
];

for (const [args, pattern] of usageCases) {
  test(`usage error: shoal ${args.join(' ')}`, async (t) => {
    const r = await cli(...args);
    t.is(r.code, 2);
    t.is(r.errLines.length, 1, `one line, got: ${r.err}`);
    t.regex(r.err, /^shoal: error: /);
    t.regex(r.err, pattern);
  });
}

test('argument parsers accept what they should', (t) => {
  t.deepEqual(parseTagsArg('role=db, zone=eu-1,expr=a=b'), { role: 'db', zone: 'eu-1', expr: 'a=b' });
  t.deepEqual(parseTagsArg(''), {});
  t.is(parseAddressArg('[::1]:7946'), '[::1]:7946');
  t.is(parseAddressArg('127.0.0.1:0', { allowZeroPort: true }), '127.0.0.1:0');
  t.is(parsePresetArg('wan'), 'wan');
});

test('an unreachable agent is a runtime failure (exit 1) with a clear message', async (t) => {
  const r = await cli('members', '--http', '127.0.0.1:1');
  t.is(r.code, 1);
  t.regex(r.err, /cannot reach the agent at http:\/\/127\.0\.0\.1:1/);
});

test('members prints a sorted, aligned table or JSON', async (t) => {
  const list: MemberView[] = [
    { name: 'node-b', addr: '10.0.0.2:7946', state: 'dead', incarnation: 12, tags: {} },
    { name: 'a', addr: '10.0.0.1:7946', state: 'alive', incarnation: 1, tags: { role: 'db', 'shoal.raft': '10.0.0.1:7948', zone: 'z1' } },
  ];
  const service: MembershipService = {
    members: () => list,
    join: async () => 1,
    leave: async () => {},
    health: () => ({ status: 'ok', name: 'a', addr: 'x', membersAlive: 1, membersTotal: 2, localHealth: 0, uptimeMs: 0 }),
  };
  const server = await HttpApiServer.listen({ listen: '127.0.0.1:0', service });
  t.teardown(() => server.close());
  const table = await cli('members', '--http', server.address);
  t.is(table.code, 0);
  const lines = table.out.split('\n');
  t.is(lines.length, 3);
  t.regex(lines[0], /^NAME\s+ADDR\s+STATE\s+INCARNATION\s+TAGS$/);
  t.regex(lines[1], /^a\s+10\.0\.0\.1:7946\s+alive\s+1\s+role=db,zone=z1$/, 'internal shoal.* tags are left out of the table');
  t.regex(lines[2], /^node-b\s+10\.0\.0\.2:7946\s+dead\s+12$/);
  t.is(lines[1].indexOf('10.0.0.1'), lines[2].indexOf('10.0.0.2'), 'columns aligned');
  const json = await cli('members', '--http', server.address, '--json');
  t.deepEqual(JSON.parse(json.out), list);
  t.is(formatMembersTable([]).split('\n').length, 1);
});
