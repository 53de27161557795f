/** Client of the API token routes (/v1/acl/tokens); every call needs the management token. */
import type { AclTokenView, TokenScope } from './acl-tokens.js';
import { ApiClient } from './client.js';
import { ConfigClientLimits } from './config-client.js';

export interface CreatedToken extends AclTokenView {
  /** The token's secret: shown here once, stored nowhere. */
  secret: string;
  revision: number;
}

export class AclClient extends ApiClient {
  createToken(request: { scope: TokenScope; description?: string }, options: { signal?: AbortSignal } = {}): Promise<CreatedToken> {
    return this.request('POST', '/v1/acl/tokens', request, ConfigClientLimits.writeTimeoutMs, options.signal);
  }

  listTokens(options: { signal?: AbortSignal } = {}): Promise<{ tokens: AclTokenView[]; revision: number }> {
    return this.request('GET', '/v1/acl/tokens', undefined, ConfigClientLimits.writeTimeoutMs, options.signal);
  }

  revokeToken(id: string, options: { signal?: AbortSignal } = {}): Promise<{ id: string; revision: number }> {
    return this.request('DELETE', `/v1/acl/tokens/${encodeURIComponent(id)}`, undefined, ConfigClientLimits.writeTimeoutMs, options.signal);
  }
}
