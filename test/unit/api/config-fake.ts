/** A ControlBackend over an in-process ConfigStore, for route and CLI tests. */
import { HttpApiServer } from '../../../src/api/http-server.js';
import type { MembershipService } from '../../../src/api/types.js';
import type { RaftStatusView } from '../../../src/api/config-types.js';
import type { CommandBody } from '../../../src/api/config-views.js';
import type { ControlBackend, WriteOutcome } from '../../../src/agent/control-api.js';
import { ControlService } from '../../../src/agent/control-service.js';
import type { ReadQuery } from '../../../src/control/control-types.js';
import { ConfigStore, failureToError } from '../../../src/control/store/index.js';
import type { Command } from '../../../src/control/store/commands.js';
import type { ShoalError } from '../../../src/util/errors.js';

export class FakeBackend implements ControlBackend {
  readonly local = new ConfigStore();
  private index = 0;
  private seq = 0;
  /** When set, every write and linearizable read fails with it. */
  failure: ShoalError | undefined;
  writes: CommandBody[] = [];
  transfers: (string | undefined)[] = [];

  apply(body: CommandBody): WriteOutcome {
    const r = this.local.apply({ ...body, req: { client: 'fake', seq: ++this.seq } } as Command, ++this.index);
    if (!r.ok) throw failureToError(r.error);
    return { revision: r.revision, response: r.response };
  }

  async write(command: CommandBody): Promise<WriteOutcome> {
    if (this.failure) throw this.failure;
    this.writes.push(command);
    return this.apply(command);
  }

  async read(q: ReadQuery, linearizable: boolean) {
    if (this.failure && linearizable) throw this.failure;
    if (q.kind === 'get') return { kv: this.local.get(q.key, q.revision === undefined ? {} : { revision: q.revision }), revision: this.local.revision };
    return this.local.range(q.prefix, { ...(q.revision === undefined ? {} : { revision: q.revision }), ...(q.limit === undefined ? {} : { limit: q.limit }) });
  }

  store(): ConfigStore {
    return this.local;
  }

  status(): RaftStatusView {
    return {
      leader: 'a',
      term: 3,
      commitIndex: this.index,
      appliedIndex: this.index,
      voters: ['a', 'b', 'c'],
      learners: [],
      name: 'a',
      role: 'leader',
      clusterId: 'c1',
      bootstrapped: true,
      revision: this.local.revision,
      compactedRevision: this.local.compactedRevision,
    };
  }

  async transferLeader(to: string | undefined) {
    this.transfers.push(to);
    return { leader: to ?? 'b' };
  }

  async removePeer(name: string) {
    return { removed: name };
  }
}

export function fakeApi(): { backend: FakeBackend; api: ControlService } {
  const backend = new FakeBackend();
  return { backend, api: new ControlService(backend, { name: 'fake', isRaftMember: () => true, leader: () => 'fake' }) };
}

/** A membership service of one healthy node: the control routes under test need one to listen. */
const membership: MembershipService = {
  members: () => [],
  join: async () => 0,
  leave: async () => {},
  health: () => ({ status: 'ok', name: 'a', addr: '127.0.0.1:1', membersAlive: 1, membersTotal: 1, localHealth: 0, uptimeMs: 1 }),
};

/** An HTTP API over a fake backend on a free port, closed at teardown. */
export async function startFakeServer(t: { teardown(fn: () => Promise<void>): void }): Promise<{ backend: FakeBackend; server: HttpApiServer }> {
  const { backend, api } = fakeApi();
  const server = await HttpApiServer.listen({ listen: '127.0.0.1:0', service: membership, control: api });
  t.teardown(() => server.close());
  return { backend, server };
}
