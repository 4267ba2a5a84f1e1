// Manifest parsing: what a reader refuses before any of it decides SQL.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FORMAT_NAME, FORMAT_VERSION, parseManifest, withDigest } from '../../src/archive/manifest.js';
import { IntegrityError } from '../../src/errors.js';

const base = {
  format: FORMAT_NAME,
  formatVersion: FORMAT_VERSION,
  id: '20261124T000000Z-abcdef',
  startedAt: '2026-11-24T00:00:00Z',
  finishedAt: '2026-11-24T00:00:01Z',
  source: {},
  parts: [],
};
const withTable = (table: Record<string, unknown>) =>
  JSON.stringify(withDigest({ ...base, tables: [{ schema: 'public', name: 't', rows: 1, checksum: '1', ...table }] }));

describe('parseManifest', () => {
  test('reads both checksum methods, and tables without one (format 1)', () => {
    assert.equal(parseManifest(withTable({}), 'm').tables[0]!.checksumMethod, undefined);
    assert.equal(parseManifest(withTable({ checksumMethod: 'text' }), 'm').tables[0]!.checksumMethod, 'text');
    assert.deepEqual(parseManifest(withTable({ checksumMethod: 'record', textColumns: ['status'] }), 'm').tables[0]!.textColumns, ['status']);
    assert.equal(parseManifest(JSON.stringify(withDigest({ ...JSON.parse(withTable({})), formatVersion: 1 })), 'm').formatVersion, 1);
  });

  test('refuses an unknown checksum method, malformed text columns and a newer format, naming them', () => {
    assert.throws(
      () => parseManifest(withTable({ checksumMethod: 'sha3' }), 'm'),
      (e: unknown) => e instanceof IntegrityError && /public\.t has checksum method "sha3".*does not know/.test(e.message),
    );
    assert.throws(
      () => parseManifest(withTable({ checksumMethod: 'record', textColumns: 'status' }), 'm'),
      (e: unknown) => e instanceof IntegrityError && /malformed textColumns/.test(e.message),
    );
    assert.throws(() => parseManifest(JSON.stringify({ ...JSON.parse(withTable({})), formatVersion: FORMAT_VERSION + 1 }), 'm'), /this tool reads up to/);
  });

  test('format 3: reads canonical columns, unverifiable columns and checksum settings; refuses malformed ones and unknown settings', () => {
    const lost = [{ column: 'v', type: 'public.unit', reason: 'public.unit loses precision through pg_dump' }];
    const t = parseManifest(withTable({ columns: ['a', 'b'], unverifiableColumns: lost }), 'm').tables[0]!;
    assert.deepEqual([t.columns, t.unverifiableColumns], [['a', 'b'], lost]);
    const settings = { search_path: '', extra_float_digits: '3' };
    assert.deepEqual(parseManifest(JSON.stringify(withDigest({ ...JSON.parse(withTable({})), checksumSettings: settings })), 'm').checksumSettings, settings);
    assert.throws(() => parseManifest(withTable({ columns: 'a' }), 'm'), /public\.t has malformed columns/);
    assert.throws(() => parseManifest(withTable({ unverifiableColumns: [{ column: 'v' }] }), 'm'), /malformed unverifiableColumns/);
    // A setting name becomes a SET statement: only known ones.
    for (const bad of [{ 'search_path; DROP TABLE x': '' }, { work_mem: '1GB' }, { search_path: 1 }]) {
      assert.throws(
        () => parseManifest(JSON.stringify(withDigest({ ...JSON.parse(withTable({})), checksumSettings: bad })), 'm'),
        (e: unknown) => e instanceof IntegrityError && /checksum settings this tool does not know/.test(e.message),
      );
    }
  });
});
