import type { MemberView } from '../api/types.js';

/** Tags shoal sets for itself (cluster id, Raft address, ...): shown by --json, left out of the table. */
const INTERNAL_TAG_PREFIX = 'shoal.';

/** Members as an aligned text table: NAME ADDR STATE INCARNATION TAGS (the user's tags), sorted by name. */
export function formatMembersTable(members: MemberView[]): string {
  const header = ['NAME', 'ADDR', 'STATE', 'INCARNATION', 'TAGS'];
  const rows = [...members]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((m) => [
      m.name,
      m.addr,
      m.state,
      String(m.incarnation),
      Object.entries(m.tags)
        .filter(([k]) => !k.startsWith(INTERNAL_TAG_PREFIX))
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    ]);
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}

/** "5 members: 4 alive, 1 dead". */
export function summarize(members: MemberView[]): string {
  const counts = new Map<string, number>();
  for (const m of members) counts.set(m.state, (counts.get(m.state) ?? 0) + 1);
  const parts = ['alive', 'suspect', 'dead', 'left'].filter((s) => counts.has(s)).map((s) => `${counts.get(s)} ${s}`);
  return `${members.length} members: ${parts.join(', ')}`;
}
