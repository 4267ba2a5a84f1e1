// RFC 8785 (JSON Canonicalization Scheme) for the documents this tool writes,
// and the digest of a document's canonical form. Our manifests hold strings,
// booleans, null, arrays, objects and finite numbers (counts, sizes, versions),
// so the short form of JCS suffices: keys sorted by UTF-16 code units, no
// whitespace, numbers as ECMAScript prints them (which is what RFC 8785 asks).
import { createHash } from 'node:crypto';

/** The canonical text of `value` (RFC 8785). Throws on values JSON cannot hold (NaN, Infinity, functions). */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON cannot hold the number ${value}`);
      return JSON.stringify(value); // ECMAScript Number-to-String, as RFC 8785 §3.2.2.3 specifies; -0 prints as 0
    case 'object':
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
      return canonicalObject(value as Record<string, unknown>);
    default:
      throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
  }
}

function canonicalObject(object: Record<string, unknown>): string {
  // Default sort compares UTF-16 code units, exactly RFC 8785's order. Undefined members are absent, as in JSON.stringify.
  const keys = Object.keys(object)
    .filter((k) => object[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(object[k])}`).join(',')}}`;
}

/** SHA-256 (hex) of the canonical form of `document` without its top-level `digest` member. */
export function documentDigest(document: object): string {
  const { digest: _ignored, ...rest } = document as Record<string, unknown>;
  return createHash('sha256').update(canonicalJson(rest), 'utf8').digest('hex');
}
