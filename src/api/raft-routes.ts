/**
 * Raft routes:
 *
 *   GET  /v1/raft/status            {"leader","term","commitIndex","appliedIndex","voters","learners", ...}
 *   POST /v1/raft/transfer-leader   {"to"?: name} -> {"leader"}
 *   POST /v1/raft/remove-peer       {"name"} -> {"removed"}
 */
import type * as http from 'node:http';
import { readJson, sendJson } from './config-http.js';
import { notAllowed, withSignal } from './config-routes.js';
import { parseNames, parseQuery } from './config-schema.js';
import type { ControlApi } from './config-types.js';

const raftBodyMaxBytes = 4096;

export async function handleRaftRoute(req: http.IncomingMessage, res: http.ServerResponse, url: URL, api: ControlApi): Promise<boolean> {
  const method = req.method ?? 'GET';
  const path = url.pathname;
  switch (path) {
    case '/v1/raft/status':
      if (method !== 'GET') throw notAllowed(method, path);
      parseQuery(url.searchParams, {});
      sendJson(res, 200, await api.raftStatus());
      return true;
    case '/v1/raft/transfer-leader': {
      if (method !== 'POST') throw notAllowed(method, path);
      const { to } = parseNames(await readJson(req, raftBodyMaxBytes), ['to']);
      await withSignal(res, (signal) => api.transferLeader(to, { signal }), 200);
      return true;
    }
    case '/v1/raft/remove-peer': {
      if (method !== 'POST') throw notAllowed(method, path);
      const { name } = parseNames(await readJson(req, raftBodyMaxBytes), ['name'], ['name']);
      await withSignal(res, (signal) => api.removePeer(name!, { signal }), 200);
      return true;
    }
    default:
      return false;
  }
}
