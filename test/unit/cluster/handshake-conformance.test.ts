import test from 'ava';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';
import { decodeHandshake, encodeHandshake, handshakeMagic, type Handshake } from '../../../src/cluster/handshake-codec.js';
import { RefuseReason } from '../../../src/cluster/kinds.js';

const root = protobuf.loadSync(fileURLToPath(new URL('../../../src/wire/cluster.proto', import.meta.url)));
const HandshakeType = root.lookupType('shoal.cluster.Handshake');

const field = fc.string({ maxLength: 40 });
const handshakeArb: fc.Arbitrary<Handshake> = fc.record({
  version: fc.integer({ min: 0, max: 1000 }),
  identity: fc.record({ clusterLabel: field, clusterId: field, name: field.filter((s) => s.length > 0), nodeId: field.filter((s) => s.length > 0), addr: field }),
  refuseReason: fc.constantFrom('' as const, ...Object.values(RefuseReason)),
  refuseMessage: field,
  nonce: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ minLength: 16, maxLength: 16 })),
});

test('conformance: handshake bytes equal protobufjs reflection of cluster.proto, each side decodes the other', (t) => {
  fc.assert(
    fc.property(handshakeArb, (h) => {
      const mine = encodeHandshake(h);
      t.deepEqual(Array.from(mine.subarray(0, 4)), Array.from(handshakeMagic));
      const body = {
        version: h.version,
        clusterLabel: h.identity.clusterLabel,
        clusterId: h.identity.clusterId,
        name: h.identity.name,
        nodeId: h.identity.nodeId,
        addr: h.identity.addr,
        refuseReason: h.refuseReason,
        refuseMessage: h.refuseMessage,
        nonce: h.nonce,
      };
      const ref = HandshakeType.encode(HandshakeType.fromObject(body)).finish();
      t.deepEqual(Uint8Array.from(mine.subarray(4)), Uint8Array.from(ref));
      const back = HandshakeType.toObject(HandshakeType.decode(mine.subarray(4)), { defaults: true });
      t.deepEqual({ ...back, nonce: Uint8Array.from(back.nonce as Uint8Array) }, { ...body, nonce: Uint8Array.from(body.nonce) });
      const withMagic = new Uint8Array(4 + ref.length);
      withMagic.set(handshakeMagic);
      withMagic.set(ref, 4);
      t.deepEqual(decodeHandshake(withMagic), { ok: true, handshake: h });
    }),
    { numRuns: 500 },
  );
});
