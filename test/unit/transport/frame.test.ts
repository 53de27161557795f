import test from 'ava';
import { FrameDecoder, encodeFrameHeader } from '../../../src/transport/frame.js';

test('frame decoder reassembles frames split at any byte and rejects oversized lengths', (t) => {
  const payloads = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(300).fill(7)];
  const wire = Buffer.concat(payloads.flatMap((p) => [encodeFrameHeader(p.length), Buffer.from(p)]));
  const d = new FrameDecoder(1000);
  const got: Uint8Array[] = [];
  for (let i = 0; i < wire.length; i += 5) {
    const r = d.push(wire.subarray(i, i + 5));
    t.true(r.ok);
    got.push(...r.frames);
  }
  t.deepEqual(got.map((g) => Buffer.from(g).toString('hex')), payloads.map((p) => Buffer.from(p).toString('hex')));
  t.is(d.pendingBytes, 0);
  const bad = new FrameDecoder(10);
  const r = bad.push(Buffer.concat([encodeFrameHeader(2), Buffer.from([9, 9]), encodeFrameHeader(11)]));
  t.false(r.ok);
  t.is(r.frames.length, 1);
  t.false(bad.push(Buffer.from([0, 0, 0, 0])).ok, 'stays failed');
});

