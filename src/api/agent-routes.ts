/**
 * The agent's own routes:
 *
 *   GET /v1/agent/stats   (read scope) -> {"api":{"limits":{...},"clients","watchesOpen","leasesTracked"}}
 *
 * `limits` holds the HTTP API's limit counters (limit-stats.ts): each moves
 * by one per refusal at that limit since the agent started. The others are
 * gauges of the per-client tables (client-limits.ts).
 */
import type * as http from 'node:http';
import type { ClientLimiter } from './client-limits.js';
import { sendJson } from './config-http.js';
import { notAllowed } from './config-routes.js';
import { parseQuery } from './config-schema.js';
import type { LimitStats } from './limit-stats.js';

export interface AgentStatsView {
  api: {
    limits: LimitStats;
    /** Clients with a rate bucket (at most clientLimits.clientsMax). */
    clients: number;
    /** Watch streams open, counted per client (exempt clients' streams are not). */
    watchesOpen: number;
    /** Leases tracked for the per-client lease limit (grants in flight included). */
    leasesTracked: number;
  };
}

export function agentStatsView(stats: LimitStats, limiter: ClientLimiter): AgentStatsView {
  return { api: { limits: { ...stats }, clients: limiter.clients, watchesOpen: limiter.watchesOpen, leasesTracked: limiter.leasesTracked } };
}

/** Handles an agent route; false when the path is not one. */
export function handleAgentRoute(req: http.IncomingMessage, res: http.ServerResponse, url: URL, view: () => AgentStatsView): boolean {
  if (url.pathname !== '/v1/agent/stats') return false;
  const method = req.method ?? 'GET';
  if (method !== 'GET') throw notAllowed(method, url.pathname);
  parseQuery(url.searchParams, {});
  sendJson(res, 200, view());
  return true;
}
