// The pure verdicts behind the drill's object comparison: what passes, what
// fails naming the object, and what is "not verifiable" rather than failed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeDifference } from '../../src/postgres/objects/large-objects.js';
import { structureVerdict } from '../../src/postgres/objects/structure.js';

const same = { source: 15, here: 15 };
const kind = (objects: Record<string, string>, digest = JSON.stringify(objects)) => ({ count: Object.keys(objects).length, digest, objects });

describe('structure verdicts', () => {
  const recorded = kind({ 'public.a_idx': '1111', 'public.b_idx': '2222' });

  it('same digest: passed', () => {
    assert.equal(structureVerdict('indexes', recorded, kind({ 'public.a_idx': '1111', 'public.b_idx': '2222' }), same).status, 'passed');
  });

  it('a changed definition fails naming the object; a missing one is named as missing', () => {
    const changed = structureVerdict('indexes', recorded, kind({ 'public.a_idx': '1111', 'public.b_idx': '9999' }), same);
    assert.equal(changed.status, 'failed');
    assert.match(changed.message, /^index public\.b_idx differs/);
    const missing = structureVerdict('indexes', recorded, kind({ 'public.a_idx': '1111' }), same);
    assert.equal(missing.status, 'failed');
    assert.match(missing.message, /missing: index public\.b_idx \(2 in the backup, 1 restored\)/);
  });

  it('objects only the restored copy has are noted, not failed', () => {
    const v = structureVerdict('indexes', recorded, kind({ 'public.a_idx': '1111', 'public.b_idx': '2222', 'public.c_idx': '3333' }), same);
    assert.equal(v.status, 'passed');
    assert.match(v.message, /also present, not in the backup: public\.c_idx/);
  });

  it('on another major a changed definition is not verifiable, a missing object still fails', () => {
    const other = { source: 15, here: 17 };
    const changed = structureVerdict('views', recorded, kind({ 'public.a_idx': '1111', 'public.b_idx': '9999' }), other);
    assert.equal(changed.status, 'not-verifiable');
    assert.match(changed.message, /PostgreSQL 15 at backup and 17 here/);
    assert.equal(structureVerdict('views', recorded, kind({ 'public.a_idx': '1111' }), other).status, 'failed');
  });

  it('without per-object lists (very large kinds) a different digest fails on the same major, is not verifiable on another', () => {
    const big = { count: 6000, digest: 'sha256:a' };
    assert.equal(structureVerdict('columns', big, { count: 6000, digest: 'sha256:b' }, same).status, 'failed');
    assert.equal(structureVerdict('columns', big, { count: 6000, digest: 'sha256:b' }, { source: 15, here: 16 }).status, 'not-verifiable');
  });
});

describe('large object differences', () => {
  const lo = (items: Array<[number, string]>) => ({
    count: items.length,
    bytes: items.length * 10,
    digest: JSON.stringify(items),
    items: items.map(([oid, digest]) => ({ oid, bytes: 10, digest })),
  });

  it('names the changed, missing and unexpected objects by OID', () => {
    const message = describeDifference(
      lo([
        [16401, 'aa'],
        [16402, 'bb'],
        [16403, 'cc'],
      ]),
      lo([
        [16401, 'aa'],
        [16402, 'XX'],
        [16500, 'dd'],
      ]),
    );
    assert.match(message, /content differs: large object 16402; missing: large object 16403; not in the backup: large object 16500/);
  });

  it('without per-object lists, says the digest differs', () => {
    assert.match(describeDifference({ count: 2000, bytes: 1, digest: 'a' }, { count: 2000, bytes: 1, digest: 'b' }), /content digest differs$/);
  });
});
