/**
 * A tiny real HTTP server (node:http on 127.0.0.1) for what nginx cannot be
 * told to do: fail with 5xx a set number of times, drop connections, answer
 * 200 without Content-Length, or hang. It serves one in-memory file with
 * single-range support (`bytes=a-b`, `bytes=a-`, `bytes=-n`), a strong ETag
 * and 416s, and records every request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the server does with one request instead of answering normally; undefined = answer normally. */
export type Fault =
  | { kind: 'status'; status: number; retryAfter?: number }
  /** Sends the head and part of the body, then destroys the socket. */
  | { kind: 'cut'; after: number }
  /** Destroys the socket before answering. */
  | { kind: 'reset' }
  /** Never answers (until the client gives up). */
  | { kind: 'hang' };

export type RangeServerOptions = {
  /** Chooses a fault for the n-th request (0-based); undefined answers normally. */
  fault?: (n: number, request: IncomingMessage) => Fault | undefined;
  /** Ignore Range and answer 200 with the whole file, chunked (no Content-Length). */
  noRangesChunked?: boolean;
};

export type RecordedRequest = { method: string; url: string; headers: IncomingMessage['headers'] };

export type RangeServer = {
  url(path?: string): string;
  requests: RecordedRequest[];
  /** Replaces the served bytes (and so the ETag). */
  setBody(bytes: Uint8Array): void;
  stop(): Promise<void>;
};

export async function startRangeServer(initial: Uint8Array, options: RangeServerOptions = {}): Promise<RangeServer> {
  let body = Buffer.from(initial);
  let version = 1;
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const n = requests.length;
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const fault = options.fault?.(n, req);
    const etag = `"v${version}-${body.length}"`;
    if (fault?.kind === 'hang') return;
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      const headers: Record<string, string> = { 'content-type': 'text/plain' };
      if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
      res.writeHead(fault.status, headers);
      res.end(`status ${fault.status}\n`);
      return;
    }
    if (options.noRangesChunked) {
      res.writeHead(200, { etag, 'content-type': 'application/octet-stream' });
      const step = 64 * 1024;
      let at = 0;
      const pump = (): void => {
        while (at < body.length) {
          const ok = res.write(body.subarray(at, Math.min(at + step, body.length)));
          at += step;
          if (!ok) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.on('error', () => undefined);
      pump();
      return;
    }
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const ifMatch = req.headers['if-match'];
    if (ifMatch !== undefined && ifMatch !== etag) {
      res.writeHead(412);
      res.end();
      return;
    }
    if (range === null || (ifRange !== undefined && ifRange !== etag)) {
      res.writeHead(200, { etag, 'content-length': String(body.length) });
      res.end(body);
      return;
    }
    const size = body.length;
    let first: number;
    let last: number;
    if (range[1] === '') {
      const suffix = Number(range[2]);
      first = Math.max(0, size - suffix);
      last = size - 1;
      if (suffix === 0) first = size;
    } else {
      first = Number(range[1]);
      last = range[2] === '' ? size - 1 : Math.min(Number(range[2]), size - 1);
    }
    if (first >= size || last < first) {
      res.writeHead(416, { 'content-range': `bytes */${size}` });
      res.end();
      return;
    }
    const part = body.subarray(first, last + 1);
    res.writeHead(206, { etag, 'content-range': `bytes ${first}-${last}/${size}`, 'content-length': String(part.length) });
    if (fault?.kind === 'cut') {
      res.write(part.subarray(0, fault.after));
      setTimeout(() => req.socket.destroy(), 10);
      return;
    }
    res.end(part);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path = 'file.h4mk') => `http://127.0.0.1:${port}/${path}`,
    requests,
    setBody(bytes) {
      body = Buffer.from(bytes);
      version++;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
