/** Client of the gossip keyring routes (/v1/keyring); every call needs the management token. */
import { ApiClient } from './client.js';
import type { KeyringReportView } from './keyring-routes.js';

/** A rotation asks every member (5 s each, in parallel): 30 s bounds it. */
const keyringTimeoutMs = 30_000;

export class KeyringClient extends ApiClient {
  list(options: { signal?: AbortSignal } = {}): Promise<KeyringReportView> {
    return this.request('GET', '/v1/keyring', undefined, keyringTimeoutMs, options.signal);
  }

  change(body: { op: 'install' | 'use' | 'remove'; key: string } | { op: 'verify'; incoming?: boolean; outgoing?: boolean }, options: { signal?: AbortSignal } = {}): Promise<KeyringReportView> {
    return this.request('POST', '/v1/keyring', body, keyringTimeoutMs, options.signal);
  }
}
