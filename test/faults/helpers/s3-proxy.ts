// An HTTP proxy in front of the S3 test server that misbehaves on chosen
// requests: answers 500/503 with an S3 error body, resets the connection, or
// stalls (before or after reading the request body) and never answers.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type Misbehaviour = '500' | '503' | 'reset' | 'stall' | 'stall-after-body';

export interface Rule {
  /** Which request starts the fault, e.g. `(r) => /PUT .*database\.dump/.test(r)`. */
  match: (line: string, n: number) => boolean;
  action: Misbehaviour;
  /** once: only the first matching request; always: it and every later request of the run. */
  times: 'once' | 'always';
}

export interface S3Proxy {
  endpoint: string;
  requests: string[];
  /** How many requests were faulted. */
  faulted: number;
  setRule(rule: Rule | undefined): void;
  close(): Promise<void>;
}

export async function startS3Proxy(upstream: string): Promise<S3Proxy> {
  const target = new URL(upstream);
  const sockets = new Set<Socket>();
  let rule: Rule | undefined;
  let triggered = false;
  const state = { faulted: 0 };
  const requests: string[] = [];

  const fault = (req: IncomingMessage, res: ServerResponse, action: Misbehaviour): void => {
    state.faulted++;
    if (action === 'reset') {
      req.socket.destroy();
      return;
    }
    if (action === 'stall') return; // never read, never answer
    if (action === 'stall-after-body') {
      req.resume(); // accept the upload, then say nothing
      return;
    }
    const code = action === '500' ? 'InternalError' : 'SlowDown';
    req.resume();
    req.on('end', () => {
      res.writeHead(Number(action), { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected by the fault suite</Message></Error>`);
    });
  };

  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => req.socket.destroy());
    req.pipe(up);
  };

  const server: Server = createServer((req, res) => {
    const line = `${req.method} ${req.url}`;
    requests.push(line);
    const n = requests.length;
    if (rule && (triggered ? rule.times === 'always' : rule.match(line, n))) {
      triggered = true;
      fault(req, res, rule.action);
      return;
    }
    forward(req, res);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    get faulted() {
      return state.faulted;
    },
    setRule(next) {
      rule = next;
      triggered = false;
      state.faulted = 0;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
