// docker-service: the database runs in a Compose service whose port is not
// published. Its container address is read on the server (`docker ps` + `docker
// inspect`, the commands an operator would type) and the tunnel goes there.
import { RemoteError } from '../errors.js';
import type { Logger } from '../util/logger.js';
import { describeEndpoint } from './options.js';
import { shellQuote } from './remote-files.js';
import type { SshSession } from './ssh-session.js';

export interface DockerTarget {
  service: string;
  project?: string;
  /** `docker`, or e.g. `sudo -n docker`. */
  command: string;
}

export const DOCKER_COMMANDS = {
  list: (t: DockerTarget) =>
    `${t.command} ps --no-trunc --quiet --filter ${shellQuote(`label=com.docker.compose.service=${t.service}`)}` +
    (t.project ? ` --filter ${shellQuote(`label=com.docker.compose.project=${t.project}`)}` : ''),
  inspect: (t: DockerTarget, id: string) => `${t.command} inspect ${shellQuote(id)}`,
} as const;

interface Inspected {
  Id?: string;
  Name?: string;
  State?: { Running?: boolean; Status?: string };
  Config?: { Labels?: Record<string, string> };
  NetworkSettings?: { IPAddress?: string; Networks?: Record<string, { IPAddress?: string }> };
}

/** The container's address on its Compose network, as the server reaches it. */
export async function resolveServiceAddress(session: SshSession, target: DockerTarget, logger: Logger): Promise<string> {
  const server = describeEndpoint(session.endpoint);
  const what = `Compose service '${target.service}'${target.project ? ` of project '${target.project}'` : ''}`;
  const listed = await session.run(DOCKER_COMMANDS.list(target));
  if (listed.code !== 0) throw dockerFailure(listed.stderr, listed.code, server, target);
  const ids = listed.stdout.split(/\s+/).filter(Boolean);
  if (ids.length === 0) {
    throw new RemoteError(`No running container of ${what} on ${server}.`, {
      hint: `Start it (docker compose up -d ${target.service}) or check the names: docker compose ps on the server lists services; set compose-project when several projects run there.`,
    });
  }
  const inspected = await session.run(DOCKER_COMMANDS.inspect(target, ids[0]!));
  if (inspected.code !== 0) throw dockerFailure(inspected.stderr, inspected.code, server, target);
  let container: Inspected | undefined;
  try {
    container = (JSON.parse(inspected.stdout) as Inspected[])[0];
  } catch {
    throw new RemoteError(`'docker inspect' on ${server} printed something that is not JSON: ${inspected.stdout.slice(0, 200)}.`, {
      hint: "Check ssh-docker-command: it must run the docker CLI (e.g. 'docker' or 'sudo -n docker').",
    });
  }
  const projects = new Set(ids.length > 1 ? [container?.Config?.Labels?.['com.docker.compose.project']].filter((p): p is string => Boolean(p)) : []);
  if (ids.length > 1 && !target.project) {
    logger.warn(
      `${ids.length} containers run ${what} on ${server}; using ${container?.Name ?? ids[0]}${projects.size ? ` (project ${[...projects][0]})` : ''}. Set compose-project to choose.`,
    );
  }
  if (!container?.State?.Running) {
    throw new RemoteError(`The container of ${what} on ${server} is not running (${container?.State?.Status ?? 'unknown state'}).`, {
      hint: `Start it: docker compose up -d ${target.service}.`,
    });
  }
  const networks = Object.entries(container.NetworkSettings?.Networks ?? {}).filter(([, n]) => n.IPAddress);
  // The project's own network first (Compose names it <project>_default), then any other.
  const project = container.Config?.Labels?.['com.docker.compose.project'];
  networks.sort(([a], [b]) => Number(b.startsWith(`${project}_`)) - Number(a.startsWith(`${project}_`)) || a.localeCompare(b));
  const address = networks[0]?.[1].IPAddress || container.NetworkSettings?.IPAddress;
  if (!address) {
    throw new RemoteError(`The container of ${what} on ${server} has no IP address (network mode host or none?).`, {
      hint: 'With network_mode: host, leave docker-service empty and name 127.0.0.1 in database-url.',
    });
  }
  logger.info(`Compose service ${target.service}: container ${container.Name?.replace(/^\//, '') ?? ids[0]!.slice(0, 12)} at ${address} on ${server}`);
  return address;
}

function dockerFailure(stderr: string, code: number | null, server: string, target: DockerTarget): RemoteError {
  const text = stderr.trim().slice(0, 400);
  if (/permission denied.*docker/i.test(text) || /docker\.sock/i.test(text)) {
    return new RemoteError(`The SSH user on ${server} may not use Docker: ${text}`, {
      hint: "Docker access is root-equivalent. Either allow exactly 'docker ps'/'docker inspect' with a sudoers rule and set ssh-docker-command: sudo -n docker, or give the database container a fixed address in compose.yaml and leave docker-service empty (docs/SSH.md).",
    });
  }
  if (/sudo:.*(password is required|not allowed|may not run)/i.test(text)) {
    return new RemoteError(`sudo on ${server} refused to run docker for the SSH user: ${text}`, {
      hint: 'Add the sudoers rule from docs/SSH.md (NOPASSWD, exactly the docker ps/inspect commands).',
    });
  }
  if (code === 127 || /not found/i.test(text)) {
    return new RemoteError(`'${target.command}' was not found on ${server}: ${text}`, {
      hint: 'Install the Docker CLI there, or set ssh-docker-command to its path.',
    });
  }
  return new RemoteError(`'${target.command}' failed on ${server} (exit ${code ?? 'unknown'}): ${text || 'no message'}`, {
    hint: 'Run the same docker ps / docker inspect on the server as the SSH user to see why.',
  });
}
