// The manifest: the versioned description of one backup, written last as its
// completion marker. Documented in docs/FORMAT.md; bump FORMAT_VERSION on any
// incompatible change and keep reading older versions.
import { IntegrityError } from '../errors.js';
import type { TriggerInfo } from '../config.js';
import { documentDigest } from './canonical-json.js';

export const FORMAT_NAME = 'backup-drill';
/**
 * 2: tables may carry `checksumMethod: 'record'`, which a version-1 reader would misread as a mismatch.
 * 3: checksums over columns in a recorded canonical order with pinned session settings (`checksumSettings`),
 *    unverifiable columns named, `objects` (large objects, sequences, materialized views, structure), and
 *    the manifest's own digest (`digest`). Shared by the Trust and Integrity work; see docs/FORMAT.md.
 * 4: the dump may be zstd-compressed as a whole (`dump.codec`, the part's `compression`), which a
 *    version-3 reader would hand to pg_restore as is (issue 16).
 */
export const FORMAT_VERSION = 4;

/** How a table's checksum was computed (see postgres/stats.ts and docs/FORMAT.md). */
export type ChecksumMethod = 'text' | 'record';
const CHECKSUM_METHODS: readonly string[] = ['text', 'record'] satisfies ChecksumMethod[];

/**
 * The session settings a format-3 checksum may be computed under
 * (Manifest.checksumSettings): a reader sets them before hashing, so only
 * these names are accepted.
 */
export const CHECKSUM_SETTING_NAMES = [
  'search_path',
  'quote_all_identifiers',
  'TimeZone',
  'DateStyle',
  'IntervalStyle',
  'extra_float_digits',
  'bytea_output',
  'lc_monetary',
  'lc_numeric',
  'xmlbinary',
  'xmloption',
  'client_encoding',
] as const;
export type ChecksumSettingName = (typeof CHECKSUM_SETTING_NAMES)[number];

export interface TableStats {
  schema: string;
  name: string;
  rows: number;
  /** Order-independent content checksum: the sum of a 64-bit hash per row (see docs/FORMAT.md). */
  checksum: string;
  /** The row hash behind `checksum`; absent means 'text'. */
  checksumMethod?: ChecksumMethod;
  /** With 'record': the columns hashed through their text form (enums, json, user types, …). */
  textColumns?: string[];
  /** For partitions: the partitioned parent (`schema.name`). Parents are not listed; their leaves are. */
  partitionOf?: string;
  /** Format 3: the columns in the order they were hashed (canonical, not the table's physical order, which a restore may change). */
  columns?: string[];
  /** Format 3: columns left out of the hash because their value does not survive pg_dump exactly; reported "not verifiable". */
  unverifiableColumns?: UnverifiableColumn[];
  /** Format 3: set for an extension configuration table (pg_extension_config_dump): only the rows pg_dump carries are hashed. */
  extensionConfig?: { extension: string; condition?: string };
}

export interface UnverifiableColumn {
  column: string;
  type: string;
  reason: string;
}

/** Format 3: what a drill and a restore compare beyond tables (see postgres/objects). */
export interface ObjectsSummary {
  largeObjects: {
    count: number;
    bytes: number;
    digest: string;
    /** Per large object (when there are at most a thousand): lets a drill name the one that differs. */
    items?: Array<{ oid: number; bytes: number; digest: string }>;
  } | null;
  sequences: Array<{ schema: string; name: string; lastValue: string; isCalled: boolean }>;
  materializedViews: Array<{
    schema: string;
    name: string;
    populated: boolean;
    /** Its stored rows equalled its query's result in the backup's snapshot: content is compared after the restore refreshes it. */
    fresh?: boolean;
    rows?: number;
    checksum?: string;
    /** Why the content is not compared (not fresh, or its query depends on time, randomness or the session). */
    reason?: string;
  }>;
  /** Per kind (indexes, constraints, triggers, policies, functions, views, comments, …): count and a digest of the definitions. */
  structure: Record<
    string,
    {
      count: number;
      digest: string;
      /** Object name → a short digest of its definition (up to a few thousand per kind): lets a drill name the object that differs. */
      objects?: Record<string, string>;
    }
  >;
  /** Extension configuration tables (pg_extension_config_dump): only the rows pg_dump carries, hashed like tables. Kept out of `tables`, which the restore gate and per-table restores use. */
  extensionConfig?: TableStats[];
  /** Installed extensions and their versions: pg_dump recreates them at the target server's default version. */
  extensionVersions?: Record<string, string>;
  /** What pg_dump itself cannot reproduce, by name: reported "not verifiable", never passed or failed. */
  notVerifiable?: Array<{ kind: string; name: string; reason: string }>;
}

/** Format 3: a digest of a JSON document's canonical form (RFC 8785) without its own `digest` field. */
export interface DocumentDigest {
  algorithm: 'sha256-jcs';
  value: string;
}

export interface MigrationHead {
  /** The framework whose ledger table was found (prisma, rails, django, …). */
  ledger: string;
  table: string;
  /** The latest applied migration's version or name. */
  head: string;
  count: number;
}

export interface FilesSummary {
  count: number;
  bytes: number;
  directories: number;
  symlinks: number;
  /** Paths not backed up because they are sockets, FIFOs or devices. */
  skipped: string[];
  exclude: string[];
}

export type PartRole = 'database' | 'files' | 'file-list' | 'checksums' | 'redacted-data' | 'roles' | 'manifest';

export interface PartInfo {
  /** File name within the backup folder, e.g. `database.dump`. */
  name: string;
  /** What it holds; readers find parts by role (names differ when encrypted: database.dump.age). */
  role: PartRole;
  bytes: number;
  sha256: string;
  /** Set when the part is age-encrypted: the stored bytes are ciphertext. */
  encrypted?: boolean;
  /** Format 4: set when the part's content was compressed before encryption (`zstd -d` restores it). */
  compression?: 'zstd';
  /** Format 4, with `compression`: the size of the content before compression, when known (the disk a staged copy needs). */
  contentBytes?: number;
}

export interface Manifest {
  format: typeof FORMAT_NAME;
  formatVersion: number;
  tool: { name: string; version: string };
  id: string;
  name: string;
  startedAt: string;
  finishedAt: string;
  trigger: TriggerInfo;
  source: {
    database: string;
    serverVersion: string;
    serverVersionNum: number;
    major: number;
    encoding: string;
    schemaHash: string;
    migration: MigrationHead | null;
  };
  dump: {
    tool: string;
    toolVersion: string;
    format: 'custom';
    /** The level of `codec` (gzip: pg_dump -Z, 0 = none). */
    compression: number;
    /** Format 4: zstd (the whole custom-format archive, written -Z0, is zstd-compressed) or gzip (inside pg_dump). Absent before: gzip. */
    codec?: 'zstd' | 'gzip';
    /** Exported snapshot shared by the dump and the table stats. */
    snapshotConsistent: boolean;
  };
  tables: TableStats[];
  totals: { tables: number; rows: number };
  files: FilesSummary | null;
  parts: PartInfo[];
  encryption: { recipients: string[]; passphrase: boolean } | null;
  redactions: Array<{ schema: string; table: string; column: string; replacement: string }>;
  warnings: string[];
  /** Format 3: the settings pinned in every session that computes or compares a checksum (search_path, extra_float_digits, …). */
  checksumSettings?: Record<string, string>;
  /** Format 3: large objects, sequences, materialized views and structure, taken in the same snapshot. */
  objects?: ObjectsSummary;
  /** Format 3: for an encrypted backup, the digest of its public index (manifest.json), recorded inside the sealed manifest. */
  indexDigest?: DocumentDigest;
  /** Format 3: this manifest's own digest; a manifest that does not verify makes the backup damaged. */
  digest?: DocumentDigest;
}

/** The part holding `role`, if the backup has one. */
export function partByRole(manifest: Pick<Manifest, 'parts'>, role: PartRole): PartInfo | undefined {
  return manifest.parts.find((p) => p.role === role);
}

/**
 * For encrypted backups, `manifest.json` is only this public index (what a
 * reader of the bucket may see: id, times, sizes, recipients); the full
 * manifest is sealed in `manifest.json.age`.
 */
export interface SealedIndex {
  format: typeof FORMAT_NAME;
  formatVersion: number;
  sealed: true;
  tool: { name: string; version: string };
  id: string;
  name: string;
  startedAt: string;
  finishedAt: string;
  encryption: { recipients: string[]; passphrase: boolean };
  /** Every stored object but manifest.json, with its stored (encrypted) size and digest. */
  parts: PartInfo[];
  /** Format 3: this index's own digest. */
  digest?: DocumentDigest;
}

export const SEALED_MANIFEST = 'manifest.json.age';

function parseJsonHeader(text: string, where: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new IntegrityError(`Manifest ${where} is not valid JSON: ${(error as Error).message}.`, { cause: error });
  }
  const m = data as Partial<Manifest>;
  if (!m || typeof m !== 'object' || m.format !== FORMAT_NAME) {
    throw new IntegrityError(`${where} is not a backup-drill manifest (format field is ${JSON.stringify(m?.format)}).`);
  }
  if (typeof m.formatVersion !== 'number' || m.formatVersion > FORMAT_VERSION) {
    throw new IntegrityError(`Manifest ${where} has format version ${m.formatVersion}; this tool reads up to ${FORMAT_VERSION}.`, {
      hint: 'Upgrade backup-drill to read this backup.',
    });
  }
  checkDocumentDigest(data as { formatVersion: number; digest?: unknown }, where);
  return data as Record<string, unknown>;
}

/** `document` with its `digest` member set to the digest of its canonical form (RFC 8785) without that member. */
export function withDigest<T extends object>(document: T): T & { digest: DocumentDigest } {
  return { ...document, digest: { algorithm: 'sha256-jcs', value: documentDigest(document) } };
}

/**
 * From format 3 on, every manifest and public index carries its own digest:
 * a missing or wrong one means the stored document was damaged or edited.
 */
function checkDocumentDigest(document: { formatVersion: number; digest?: unknown }, where: string): void {
  const recorded = document.digest as Partial<DocumentDigest> | undefined;
  if (recorded === undefined) {
    if (document.formatVersion < 3) return;
    throw new IntegrityError(`Manifest ${where} has no digest of its own (format ${document.formatVersion} requires one): it was damaged or edited.`, {
      hint: 'Treat this backup as damaged and use another one.',
    });
  }
  if (recorded.algorithm !== 'sha256-jcs' || typeof recorded.value !== 'string') {
    throw new IntegrityError(`Manifest ${where} has a digest of unknown form ${JSON.stringify(recorded)}.`, {
      hint: 'Upgrade backup-drill, or treat this backup as damaged.',
    });
  }
  const actual = documentDigest(document);
  if (actual !== recorded.value) {
    throw new IntegrityError(
      `Manifest ${where} does not match its own digest: recorded sha256-jcs ${recorded.value}, computed ${actual}. It was damaged or edited after the backup.`,
      { hint: 'Treat this backup as damaged and use another one.' },
    );
  }
}

/**
 * What the sealed manifest of an encrypted backup records as `indexDigest`: the
 * digest of the public index without its own digest and without the entry of
 * the sealed manifest (whose bytes are only known once the digest is inside them).
 */
export function indexBodyDigest(index: SealedIndex): string {
  return documentDigest({ ...index, digest: undefined, parts: index.parts.filter((p) => p.role !== 'manifest') });
}

/** Checks the sealed manifest's record of the public index against the index as stored. */
export function checkIndexDigest(manifest: Manifest, index: SealedIndex, where: string): void {
  if (manifest.indexDigest === undefined) {
    if (manifest.formatVersion < 3) return;
    throw new IntegrityError(`The sealed manifest of ${where} does not record its public index's digest (format ${manifest.formatVersion} requires it).`, {
      hint: 'Treat this backup as damaged and use another one.',
    });
  }
  const actual = indexBodyDigest(index);
  if (manifest.indexDigest.value !== actual) {
    throw new IntegrityError(
      `The public index ${where} does not match the digest its sealed manifest records (recorded ${manifest.indexDigest.value}, computed ${actual}): the index was altered.`,
      { hint: 'Treat this backup as damaged and use another one.' },
    );
  }
}

/** A manifest.json: the full manifest, or the public index of an encrypted backup. */
export function parseManifestOrIndex(text: string, where: string): { manifest: Manifest } | { index: SealedIndex } {
  const data = parseJsonHeader(text, where);
  if (data.sealed === true) {
    for (const field of ['id', 'parts', 'encryption'] as const)
      if (data[field] === undefined) throw new IntegrityError(`Index ${where} lacks the required field '${field}'.`);
    return { index: data as unknown as SealedIndex };
  }
  return { manifest: parseManifest(text, where) };
}

/** Parses and checks a manifest's shape; rejects unknown major formats outright. */
export function parseManifest(text: string, where: string): Manifest {
  const m = parseJsonHeader(text, where) as Partial<Manifest>;
  for (const field of ['id', 'startedAt', 'finishedAt', 'tables', 'parts', 'source'] as const) {
    if (m[field] === undefined) throw new IntegrityError(`Manifest ${where} lacks the required field '${field}'.`);
  }
  // The checksum method decides the SQL that verifies a table: only known ones, and text columns as plain names.
  for (const t of m.tables ?? []) {
    if (t.checksumMethod !== undefined && !CHECKSUM_METHODS.includes(t.checksumMethod)) {
      throw new IntegrityError(
        `Manifest ${where}: table ${t.schema}.${t.name} has checksum method ${JSON.stringify(t.checksumMethod)}, which this tool does not know.`,
        {
          hint: 'Upgrade backup-drill to read this backup.',
        },
      );
    }
    for (const field of ['textColumns', 'columns'] as const) {
      const list = t[field];
      if (list !== undefined && !(Array.isArray(list) && list.every((c) => typeof c === 'string'))) {
        throw new IntegrityError(`Manifest ${where}: table ${t.schema}.${t.name} has malformed ${field}.`);
      }
    }
    const lost = t.unverifiableColumns;
    if (
      lost !== undefined &&
      !(Array.isArray(lost) && lost.every((u) => ['column', 'type', 'reason'].every((k) => typeof u?.[k as keyof UnverifiableColumn] === 'string')))
    ) {
      throw new IntegrityError(`Manifest ${where}: table ${t.schema}.${t.name} has malformed unverifiableColumns.`);
    }
  }
  // Checksum settings are set by name before hashing: only known names, string values.
  const settings = m.checksumSettings;
  if (settings !== undefined) {
    const known: readonly string[] = CHECKSUM_SETTING_NAMES;
    const bad =
      !settings || typeof settings !== 'object' || Array.isArray(settings)
        ? ['(not an object)']
        : Object.entries(settings)
            .filter(([k, v]) => !known.includes(k) || typeof v !== 'string')
            .map(([k]) => k);
    if (bad.length) {
      throw new IntegrityError(`Manifest ${where} has checksum settings this tool does not know: ${bad.map((k) => JSON.stringify(k)).join(', ')}.`, {
        hint: 'Upgrade backup-drill to read this backup.',
      });
    }
  }
  return m as Manifest;
}
