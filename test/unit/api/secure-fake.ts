/** An HTTP API with a management token (or TLS) over the fake control backend. */
import { HttpApiServer, type HttpApiOptions } from '../../../src/api/http-server.js';
import type { HealthView, MemberView, MembershipService } from '../../../src/api/types.js';
import { fakeApi, type FakeBackend } from './config-fake.js';

export { raw, type RawAnswer } from '../../support/raw-http.js';

export const MANAGEMENT_TOKEN = 'mgmt-token-0123456789abcdef';

/** Records every call that would change the agent. */
export class RecordingMembership implements MembershipService {
  joins: string[][] = [];
  leaves = 0;
  members(): MemberView[] {
    return [{ name: 'a', addr: '127.0.0.1:1', state: 'alive', incarnation: 1, tags: {} }];
  }
  async join(addrs: string[]): Promise<number> {
    this.joins.push(addrs);
    return addrs.length;
  }
  async leave(): Promise<void> {
    this.leaves++;
  }
  health(): HealthView {
    return { status: 'ok', name: 'a', addr: '127.0.0.1:1', membersAlive: 1, membersTotal: 1, localHealth: 0, uptimeMs: 1 };
  }
}

export interface SecureServer {
  backend: FakeBackend;
  membership: RecordingMembership;
  server: HttpApiServer;
  /** host:port of the server. */
  address: string;
}

export async function startSecureServer(
  t: { teardown(fn: () => Promise<void>): void },
  options: Partial<Pick<HttpApiOptions, 'listen' | 'token' | 'tls' | 'clientLimits'>> = { token: MANAGEMENT_TOKEN },
): Promise<SecureServer> {
  const { backend, api } = fakeApi();
  const membership = new RecordingMembership();
  const server = await HttpApiServer.listen({ listen: options.listen ?? '127.0.0.1:0', service: membership, control: api, ...options });
  t.teardown(() => server.close());
  return { backend, membership, server, address: server.address };
}

export { bearer, jsonBody } from '../../support/raw-http.js';
