import test from 'ava';
import fc from 'fast-check';
import { compareKeys } from '../../../src/control/store/keys.js';
import { SortedKeys } from '../../../src/control/store/sorted-keys.js';

test('sorted keys agree with a sorted array through inserts, deletes and chunk splits', (t) => {
  const key = fc.string({ maxLength: 3, unit: fc.constantFrom('a', 'b', 'ä', '\uffee', '😀') });
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), key), { maxLength: 300 }), key, (ops, from) => {
      const sorted = new SortedKeys(4);
      const model = new Set<string>();
      for (const [insert, k] of ops) {
        if (insert && !model.has(k)) {
          sorted.insert(k);
          model.add(k);
        } else if (!insert) {
          t.is(sorted.delete(k), model.delete(k));
        }
      }
      const expected = [...model].sort(compareKeys);
      t.deepEqual([...sorted.all()], expected);
      t.is(sorted.size, model.size);
      t.deepEqual(
        [...sorted.from(from)],
        expected.filter((k) => compareKeys(k, from) >= 0),
      );
    }),
    { numRuns: 300 },
  );
});

test('key order is code point order, which is UTF-8 byte order', (t) => {
  const keys = ['b', 'a', 'ä', '\uffee', '😀', 'aa', ''];
  const byBytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  t.deepEqual([...keys].sort(compareKeys), byBytes);
});
