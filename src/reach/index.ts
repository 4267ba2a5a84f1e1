// Reach: back up and restore a server over SSH without exposing PostgreSQL.
// A wrapper around a mode: it opens the SSH connection, a local tunnel to the
// database as the server sees it, and hands the mode a Config whose
// database-url points at the tunnel, plus the uploads as a remote folder.
//
//   ssh (pinned host key) ─► tunnel 127.0.0.1:<local> ─► host:port on the server ─► pg / pg_dump / psql
//                         └► exec `tar` ─► files packing (digests, excludes)
import type { Config } from '../config.js';
import { BackupDrillError, RemoteError, UsageError, describeError } from '../errors.js';
import type { FilesSource } from '../archive/files-source.js';
import type { Logger } from '../util/logger.js';
import { safeUrl } from '../util/redact.js';
import { resolveServiceAddress } from './docker.js';
import { describeEndpoint, type ReachOptions } from './options.js';
import { remoteFilesSource } from './remote-files.js';
import { RemoteFilesTarget } from './remote-restore.js';
import { SshSession } from './ssh-session.js';
import { openTunnel } from './tunnel.js';

export type { ReachOptions } from './options.js';
export { parseReachOptions } from './options.js';

export interface Reached {
  /** The config with database-url rewritten to the tunnel. */
  config: Config;
  session: SshSession;
  /** The uploads folder on the server (backup), when files-path is set. */
  files?: FilesSource;
  /** The uploads folder on the server (restore), when files-path is set. */
  filesTarget?: RemoteFilesTarget;
  /** How the database is reached, for messages: `app on 127.0.0.1:5432 via backup@host`. */
  description: string;
}

/** Where the database is, as the server sees it: host and port of database-url. */
export function databaseDestination(url: string | undefined): { host: string; port: number } {
  if (!url || !/^postgres(ql)?:\/\//i.test(url)) {
    throw new UsageError("With 'ssh', 'database-url' must be a postgres:// URL naming the database as the server sees it.", {
      input: 'database-url',
      hint: 'Example: postgres://backup:secret@127.0.0.1:5432/app (127.0.0.1 is the server itself; with docker-service the host part is replaced by the container address).',
    });
  }
  const u = new URL(url);
  const host = decodeURIComponent(u.hostname).replace(/^\[|\]$/g, '');
  if (!host || host.startsWith('/')) {
    throw new UsageError("With 'ssh', 'database-url' must name a TCP host (e.g. 127.0.0.1), not a Unix socket.", {
      input: 'database-url',
      hint: "Use postgres://user@127.0.0.1:5432/db and make PostgreSQL listen on 127.0.0.1 (listen_addresses = 'localhost').",
    });
  }
  return { host, port: u.port ? Number(u.port) : 5432 };
}

/** The same URL with host and port replaced by the tunnel's local end. */
export function throughTunnel(url: string, localPort: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(localPort);
  return u.toString();
}

/**
 * Runs `work` with the server reached over SSH. When the connection drops while
 * `work` runs, its failure is reported as the drop (the mode has already removed
 * what it wrote, as for any failure).
 */
export async function withReach<T>(
  config: Config,
  options: ReachOptions,
  logger: Logger,
  work: (reached: Reached) => Promise<T>,
  what: { database: boolean; verb: string } = { database: true, verb: 'backup' },
): Promise<T> {
  const destination = what.database ? databaseDestination(config.databaseUrl) : undefined;
  const server = describeEndpoint(options.target);
  logger.info(`Connecting to ${server}${options.jump ? ` through ${describeEndpoint(options.jump)}` : ''} over SSH…`);
  const session = await SshSession.open({ ...options, logger });
  session.on('lost', (error: Error) => logger.error(`The SSH connection to ${server} dropped: ${error.message}. Stopping.`));
  let tunnel: Awaited<ReturnType<typeof openTunnel>> | undefined;
  try {
    let reachedConfig = config;
    let description = server;
    if (destination) {
      const host = options.dockerService
        ? await resolveServiceAddress(session, { service: options.dockerService, project: options.composeProject, command: options.dockerCommand }, logger)
        : destination.host;
      tunnel = await openTunnel(session, host, destination.port, logger);
      description = `${host}:${destination.port} via ${server}`;
      reachedConfig = { ...config, databaseUrl: throughTunnel(config.databaseUrl!, tunnel.port), ssh: { ...options, tunnelledTo: description } };
      logger.info(`Database ${safeUrl(config.databaseUrl!)} reached through an SSH tunnel: 127.0.0.1:${tunnel.port} → ${description}`);
    }
    const reached: Reached = {
      config: reachedConfig,
      session,
      description,
      ...(config.filesPath
        ? { files: remoteFilesSource(session, config.filesPath), filesTarget: new RemoteFilesTarget(session, config.filesPath, logger) }
        : {}),
    };
    try {
      return await work(reached);
    } catch (error) {
      // Errors that already speak of the SSH side (a refused command, files not swapped in) keep their own words.
      if (!session.lost || (error instanceof BackupDrillError && error.category === 'remote')) throw error;
      throw new RemoteError(`The SSH connection to ${server} dropped during the ${what.verb} (${session.lost.message}): ${describeError(error)}`, {
        hint:
          what.verb === 'backup'
            ? 'Nothing complete was stored (the partial parts were removed). Check the network path and sshd on the server, then run again.'
            : "The COMMIT and the files swap come last: unless the log says 'Committed', the database is as it was and the live files folder unchanged (a staging folder beside it is named above if it could not be removed). Check the network path and sshd on the server, then run again.",
        cause: error,
      });
    }
  } finally {
    await tunnel?.close().catch(() => undefined);
    session.close();
  }
}
