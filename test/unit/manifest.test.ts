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
});
