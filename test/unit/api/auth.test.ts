/** The request rules of auth.ts, as tables. */
import test from 'ava';
import { bearerToken, isJsonContentType, isLoopbackHostHeader, isLoopbackListen, requiredScope, scopeAllows, type Scope } from '../../../src/api/auth.js';

test('every route needs the scope the docs give it; routes not listed need the management token', (t) => {
  const table: [string, string, Scope][] = [
    ['GET', '/v1/members', 'read'],
    ['GET', '/v1/health', 'read'],
    ['GET', '/v1/raft/status', 'read'],
    ['GET', '/v1/config/a/b', 'read'],
    ['GET', '/v1/config', 'read'],
    ['GET', '/v1/config/watch', 'read'],
    ['PUT', '/v1/config/a', 'write'],
    ['DELETE', '/v1/config/a', 'write'],
    ['POST', '/v1/config/txn', 'write'],
    ['POST', '/v1/config/compact', 'write'],
    ['POST', '/v1/leases', 'write'],
    ['POST', '/v1/leases/1/keepalive', 'write'],
    ['DELETE', '/v1/leases/1', 'write'],
    ['POST', '/v1/join', 'write'],
    ['POST', '/v1/leave', 'manage'],
    ['GET', '/v1/leave', 'manage'],
    ['POST', '/v1/raft/transfer-leader', 'manage'],
    ['POST', '/v1/raft/remove-peer', 'manage'],
    ['GET', '/v1/acl/tokens', 'manage'],
    ['POST', '/v1/acl/tokens', 'manage'],
    ['DELETE', '/v1/acl/tokens/0123456789abcdef', 'manage'],
    ['OPTIONS', '/v1/members', 'manage'],
    ['GET', '/v1/configx', 'manage'],
    ['GET', '/v1/keyring', 'manage'],
    ['POST', '/v1/keyring/install', 'manage'],
    ['GET', '/v1/nope', 'manage'],
  ];
  for (const [method, path, scope] of table) t.is(requiredScope(method, path), scope, `${method} ${path}`);
  t.true(scopeAllows('manage', 'write') && scopeAllows('write', 'read') && scopeAllows('read', 'read'));
  t.false(scopeAllows('read', 'write') || scopeAllows('write', 'manage'));
});

test('Host headers that name loopback, and ones that do not', (t) => {
  for (const h of ['localhost', 'localhost:7947', 'LocalHost:1', '127.0.0.1', '127.0.0.1:80', '127.255.255.254:65535', '[::1]', '[::1]:7947']) t.true(isLoopbackHostHeader(h), h);
  for (const h of [undefined, '', 'evil.example', 'evil.example:7947', 'localhost.', 'localhost.evil.example', '127.0.0.1.nip.io', '127.0.0.256', '127.0.0', '[::2]:1', '::1', '0.0.0.0:7947', '10.0.0.1', 'localhost:7947:1']) {
    t.false(isLoopbackHostHeader(h), String(h));
  }
  for (const h of ['127.0.0.1', '127.3.4.5', '::1', 'localhost']) t.true(isLoopbackListen(h), h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1']) t.false(isLoopbackListen(h), h);
});

test('bearer tokens and JSON content types', (t) => {
  t.is(bearerToken('Bearer abc'), 'abc');
  t.is(bearerToken('bearer  abc '), 'abc');
  for (const h of [undefined, '', 'Bearer', 'Bearer ', 'Basic abc', 'abc', 'Bearer a b', 'Bearer \u00e9']) t.is(bearerToken(h), undefined, String(h));
  for (const h of ['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8']) t.true(isJsonContentType(h), h);
  for (const h of [undefined, '', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', 'application/jsonp', 'application/json-seq', 'text/json']) {
    t.false(isJsonContentType(h), String(h));
  }
});
