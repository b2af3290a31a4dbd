/** The visibility queries the sweep and revocations find certificate workflows with. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RUNNING_CERTIFICATES, runningWith } from '../../src/contract/certificate.ts';

/** The ids a query's IN list names, and the range it spans (`undefined` bounds for a single id). */
const parse = (query: string) => ({
  ids: /IN \(([^)]*)\)/
    .exec(query)?.[1]
    ?.split(', ')
    .map((id) => id.replace(/'/g, '')),
  from: /CertificateId >= '(\d+)' AND CertificateId <= '(\d+)' AND/.exec(query)?.slice(1),
});

describe('runningWith', () => {
  it('asks for one id as a closed range of it', () => {
    assert.deepEqual(runningWith([4711]), [
      `${RUNNING_CERTIFICATES} AND (CertificateId >= '4711' AND CertificateId <= '4711')`,
    ]);
    assert.deepEqual(runningWith([7, 7]), runningWith([7]));
  });

  it('asks a hundred ids a query, in order, each query with the range its ids span', () => {
    const ids = Array.from({ length: 250 }, (_, i) => 99_950 + i * 3).reverse();
    const queries = runningWith(ids).map(parse);
    assert.deepEqual(
      queries.map((q) => q.ids?.length),
      [100, 100, 50],
    );
    const named = queries.flatMap((q) => q.ids ?? []);
    assert.deepEqual(named, ids.map(String).sort(), 'every id once, in the order the range compares them');
    for (const { ids: batch = [], from } of queries) {
      assert.deepEqual(from, [batch[0], batch.at(-1)]);
    }
  });
});
