// A stand-in for GitHub's cache service (the v1 REST API that @actions/cache speaks when
// ACTIONS_CACHE_URL is set), with its storage in a folder: the one part of the runner that
// cannot run here. Entries are matched the way the service does: each key in order, exact
// first, then the newest entry whose key starts with it; same `version` (paths + compression).
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';

interface Entry {
  id: number;
  key: string;
  version: string;
  committed: boolean;
  createdAt: number;
}

export interface FakeCacheService {
  url: string;
  entries: Entry[];
  requests: string[];
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function startCacheService(folder: string): Promise<FakeCacheService> {
  await mkdir(folder, { recursive: true });
  const entries: Entry[] = [];
  const requests: string[] = [];
  let base = '';
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      requests.push(`${req.method} ${url.pathname}`);
      const json = (status: number, value?: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(value === undefined ? '' : JSON.stringify(value));
      };
      if (req.method === 'GET' && url.pathname === '/_apis/artifactcache/cache') {
        const version = url.searchParams.get('version');
        const keys = (url.searchParams.get('keys') ?? '').split(',');
        const ready = entries.filter((e) => e.committed && e.version === version);
        for (const key of keys) {
          const hit = ready.find((e) => e.key === key) ?? ready.filter((e) => e.key.startsWith(key)).sort((a, b) => b.createdAt - a.createdAt)[0];
          if (hit) return json(200, { cacheKey: hit.key, scope: 'refs/heads/main', archiveLocation: `${base}archive/${hit.id}` });
        }
        res.writeHead(204).end();
        return;
      }
      if (req.method === 'POST' && url.pathname === '/_apis/artifactcache/caches') {
        const { key, version } = JSON.parse((await body(req)).toString()) as { key: string; version: string };
        if (entries.some((e) => e.key === key && e.version === version))
          return json(409, { message: `Cache already exists. Scope: refs/heads/main, Key: ${key}` });
        const entry = { id: entries.length + 1, key, version, committed: false, createdAt: Date.now() + entries.length };
        entries.push(entry);
        return json(201, { cacheId: entry.id });
      }
      const chunk = /^\/_apis\/artifactcache\/caches\/(\d+)$/.exec(url.pathname);
      if (chunk && req.method === 'PATCH') {
        const start = Number(/bytes (\d+)-/.exec(req.headers['content-range'] ?? '')?.[1] ?? 0);
        const out = createWriteStream(join(folder, chunk[1]!), { flags: start === 0 ? 'w' : 'r+', start });
        req.pipe(out);
        out.on('finish', () => json(204));
        return;
      }
      if (chunk && req.method === 'POST') {
        const { size } = JSON.parse((await body(req)).toString()) as { size: number };
        const entry = entries.find((e) => e.id === Number(chunk[1]));
        if (!entry || (await stat(join(folder, chunk[1]!))).size !== size) return json(400, { message: 'size mismatch' });
        entry.committed = true;
        return json(204);
      }
      const archive = /^\/archive\/(\d+)$/.exec(url.pathname);
      if (archive && req.method === 'GET') {
        const file = join(folder, archive[1]!);
        res.writeHead(200, { 'content-length': String((await stat(file)).size) });
        createReadStream(file).pipe(res);
        return;
      }
      json(404, { message: 'not found' });
    })().catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  return { url: base, entries, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
