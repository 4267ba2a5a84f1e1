// RFC 8785 canonical JSON and the manifest digests built on it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, documentDigest } from '../../src/archive/canonical-json.js';
import {
  checkIndexDigest,
  FORMAT_NAME,
  FORMAT_VERSION,
  indexBodyDigest,
  parseManifest,
  parseManifestOrIndex,
  withDigest,
  type Manifest,
  type SealedIndex,
} from '../../src/archive/manifest.js';
import { IntegrityError } from '../../src/errors.js';

describe('canonicalJson (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units and drops whitespace', () => {
    // RFC 8785 §3.2.3's sorting example, in its order: \r, 1, €, 😀 (surrogates sort below U+FB33), דּ.
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const order = [...canonicalJson(input).matchAll(/"([^"]*)":"([^"]*)"/g)].map((m) => m[2]);
    assert.deepEqual(order, [
      'Carriage Return',
      'One',
      'Control',
      'Latin Small Letter O With Diaeresis',
      'Euro Sign',
      'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ]);
    assert.ok(!/\s/.test(canonicalJson({ a: [1, { b: 2 }] })));
  });

  it('prints numbers as ECMAScript does and literals plainly (RFC 8785 §3.2.2)', () => {
    assert.equal(
      canonicalJson({ b: [1e21, 1e-7, -0, 0.1, 333333333.3333333, true, null], a: 'x\u2028"' }),
      '{"a":"x\u2028\\"","b":[1e+21,1e-7,0,0.1,333333333.3333333,true,null]}',
    );
  });

  it('refuses values JSON cannot hold', () => {
    assert.throws(() => canonicalJson({ n: Number.NaN }), TypeError);
    assert.throws(() => canonicalJson({ n: Infinity }), TypeError);
  });

  it('gives the same digest for any key order or indentation, and ignores the digest member itself', () => {
    const a = { x: 1, y: { b: 2, a: [3, 'z'] } };
    const b = JSON.parse(JSON.stringify({ y: { a: [3, 'z'], b: 2 }, x: 1, digest: { algorithm: 'sha256-jcs', value: 'whatever' } }, null, 4)) as object;
    assert.equal(documentDigest(a), documentDigest(b));
    assert.notEqual(documentDigest(a), documentDigest({ ...a, x: 2 }));
  });
});

const manifest = {
  format: FORMAT_NAME,
  formatVersion: FORMAT_VERSION,
  id: '20261124T000000Z-abcdef',
  startedAt: '2026-11-24T00:00:00Z',
  finishedAt: '2026-11-24T00:00:01Z',
  source: {},
  tables: [{ schema: 'public', name: 't', rows: 1, checksum: '1' }],
  parts: [{ name: 'database.dump', role: 'database', bytes: 10, sha256: 'a'.repeat(64) }],
};

describe('manifest digest', () => {
  it('accepts a manifest that matches its digest, in any layout', () => {
    const text = JSON.stringify(withDigest(manifest), null, 2);
    assert.equal(parseManifest(text, 'm').id, manifest.id);
    assert.equal(parseManifest(JSON.stringify(JSON.parse(text)), 'm').id, manifest.id);
  });

  it('refuses a parseable edit, naming the object', () => {
    const edited = JSON.parse(JSON.stringify(withDigest(manifest))) as typeof manifest;
    edited.tables[0]!.rows = 2;
    assert.throws(
      () => parseManifest(JSON.stringify(edited), 's3://b/app/x/manifest.json'),
      (e: unknown) => e instanceof IntegrityError && /s3:\/\/b\/app\/x\/manifest\.json does not match its own digest/.test(e.message),
    );
  });

  it('refuses a format-3 manifest without a digest, and accepts older ones without', () => {
    assert.throws(() => parseManifest(JSON.stringify(manifest), 'm'), /has no digest of its own/);
    assert.equal(parseManifest(JSON.stringify({ ...manifest, formatVersion: 2 }), 'm').formatVersion, 2);
  });

  it('binds a public index to its sealed manifest (indexDigest)', () => {
    const sealedPart = { name: 'manifest.json.age', role: 'manifest' as const, bytes: 5, sha256: 'b'.repeat(64), encrypted: true };
    const index: SealedIndex = {
      format: FORMAT_NAME,
      formatVersion: FORMAT_VERSION,
      sealed: true as const,
      tool: { name: 'backup-drill', version: '0' },
      id: manifest.id,
      name: 'app',
      startedAt: manifest.startedAt,
      finishedAt: manifest.finishedAt,
      encryption: { recipients: ['age1x'], passphrase: false },
      parts: manifest.parts as SealedIndex['parts'],
    };
    const full = { ...manifest, indexDigest: { algorithm: 'sha256-jcs' as const, value: indexBodyDigest(index) } } as unknown as Manifest;
    const stored = withDigest({ ...index, parts: [...index.parts, sealedPart] });
    const parsed = parseManifestOrIndex(JSON.stringify(stored), 'i');
    assert.ok('index' in parsed);
    checkIndexDigest(full, parsed.index, 'i');
    // An index re-signed after an edit passes its own digest but not the sealed manifest's record of it.
    const forged = withDigest({ ...index, name: 'other', parts: [...index.parts, sealedPart] });
    assert.throws(() => checkIndexDigest(full, forged, 'i'), /does not match the digest its sealed manifest records/);
  });
});
