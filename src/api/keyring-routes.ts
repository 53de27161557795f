/**
 * Gossip keyring routes (management scope: the keys are secrets):
 *
 *   GET  /v1/keyring                          every live member's keys, primary and verify switches
 *   POST /v1/keyring {"op":"install","key"}   every member accepts KEY
 *   POST /v1/keyring {"op":"use","key"}       every member seals with KEY
 *   POST /v1/keyring {"op":"remove","key"}    every member stops accepting KEY
 *   POST /v1/keyring {"op":"verify","incoming"?,"outgoing"?}   the migration switches
 *
 * Each answers the report of src/agent/keyring-manager.ts: {"members":[...],
 * "keys":{KEY:[names]},"primaries":{KEY:[names]},"failed":N}. A request the
 * local member refuses (unknown key, removing the primary) is 400 and
 * reaches no other member.
 */
import type * as http from 'node:http';
import { ErrorCode } from '../util/errors.js';
import { HttpError, clientGone, readJson, sendJson } from './config-http.js';
import { strictObject } from './config-schema.js';

export interface KeyringReportView {
  members: { name: string; ok: boolean; error?: string; primary?: string; keys?: string[]; verifyIncoming?: boolean; verifyOutgoing?: boolean }[];
  keys: Record<string, string[]>;
  primaries: Record<string, string[]>;
  failed: number;
}

export interface KeyringService {
  list(options?: { signal?: AbortSignal }): Promise<KeyringReportView>;
  install(key: string, options?: { signal?: AbortSignal }): Promise<KeyringReportView>;
  use(key: string, options?: { signal?: AbortSignal }): Promise<KeyringReportView>;
  remove(key: string, options?: { signal?: AbortSignal }): Promise<KeyringReportView>;
  verify(switches: { incoming?: boolean; outgoing?: boolean }, options?: { signal?: AbortSignal }): Promise<KeyringReportView>;
}

const bodyMaxBytes = 4096;

export async function handleKeyringRoute(req: http.IncomingMessage, res: http.ServerResponse, url: URL, keyring: KeyringService): Promise<boolean> {
  if (url.pathname !== '/v1/keyring') return false;
  const method = req.method ?? 'GET';
  const gone = clientGone(res);
  try {
    if (method === 'GET') {
      sendJson(res, 200, await keyring.list({ signal: gone.signal }));
      return true;
    }
    if (method !== 'POST') throw new HttpError(405, ErrorCode.MethodNotAllowed, `method ${method} not allowed on /v1/keyring`);
    const o = strictObject(await readJson(req, bodyMaxBytes), 'body', ['op', 'key', 'incoming', 'outgoing'], ['op']);
    const key = (): string => {
      if (typeof o.key !== 'string') throw new HttpError(400, ErrorCode.BadRequest, `"${String(o.op)}" needs "key"`, { field: 'key' });
      return o.key;
    };
    const signal = { signal: gone.signal };
    switch (o.op) {
      case 'install':
        sendJson(res, 200, await keyring.install(key(), signal));
        return true;
      case 'use':
        sendJson(res, 200, await keyring.use(key(), signal));
        return true;
      case 'remove':
        sendJson(res, 200, await keyring.remove(key(), signal));
        return true;
      case 'verify': {
        const switches: { incoming?: boolean; outgoing?: boolean } = {};
        for (const f of ['incoming', 'outgoing'] as const) {
          if (o[f] === undefined) continue;
          if (typeof o[f] !== 'boolean') throw new HttpError(400, ErrorCode.BadRequest, `"${f}" must be true or false`, { field: f });
          switches[f] = o[f] as boolean;
        }
        sendJson(res, 200, await keyring.verify(switches, signal));
        return true;
      }
      default:
        throw new HttpError(400, ErrorCode.BadRequest, '"op" must be one of install, use, remove, verify', { field: 'op' });
    }
  } finally {
    gone.done();
  }
}
