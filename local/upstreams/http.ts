/**
 * The plumbing every stand-in shares: a loopback HTTP server, JSON in and out (ENX's error shape
 * {"error", "errorCode", "error_code"}, pkg/api/api.go), the generic faults (slow, 500, malformed JSON) applied before a route
 * runs, and the /__faults control endpoint. The API-key check is api-key-auth.ts.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Fault, Faults } from './faults';
import { DEFAULT_SLOW_MS, parseFaultRequest } from './faults';

export interface Reply {
  readonly status: number;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Sent as text/plain instead of a JSON body (Go's http.Error answers). */
  readonly text?: string;
  readonly headers?: Record<string, string>;
}

export const json = (status: number, body: unknown): Reply => ({ status, body });
/**
 * ENX's error body (pkg/api/api.go ErrorReturn, WithCode): the code under errorCode and again under
 * the deprecated error_code.
 */
export const apiError = (status: number, error: string, errorCode: string): Reply =>
  json(status, { error, errorCode, error_code: errorCode });

/** api.InternalError(): what ENX answers for a failure of its own. */
export const internalError = (): Reply => apiError(500, 'internal error', 'internal_server_error');

export interface RouteRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly body: unknown;
  /** The fault this request got, for the routes whose faults change what they compute. */
  readonly fault: Fault | undefined;
}

export type Route = (request: RouteRequest) => Promise<Reply>;

export interface StandIn {
  readonly url: string;
  close(): Promise<void>;
}

const BODY_LIMIT_BYTES = 256 * 1024;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > BODY_LIMIT_BYTES) throw new Error(`request body over ${BODY_LIMIT_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function write(res: ServerResponse, reply: Reply): void {
  if (reply.text !== undefined) {
    res.writeHead(reply.status, { 'Content-Type': 'text/plain; charset=utf-8', ...reply.headers });
    res.end(reply.text);
    return;
  }
  const text = reply.body === undefined ? '' : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    ...(reply.body === undefined ? {} : { 'Content-Type': 'application/json' }),
    ...reply.headers,
  });
  res.end(text);
}

function sleep(ms: number, cancelled: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    cancelled.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Serves `routes` (by path) on 127.0.0.1. Faults are looked up by path; slow, 500 and malformed
 * JSON are handled here, the others are passed to the route.
 */
export async function serveStandIn(
  routes: Readonly<Record<string, Route>>,
  faults: Faults,
  port = 0,
): Promise<StandIn> {
  const closing = new AbortController();
  const server = createServer((req, res) => {
    // ENX hides its own failures behind a generic body (pkg/render/json.go); so does the stand-in.
    void handle(req, res).catch(() => {
      if (!res.headersSent) write(res, internalError());
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { pathname: path, searchParams: query } = new URL(req.url ?? '/', 'http://127.0.0.1');
    const text = await readBody(req);
    if (path === '/__faults') {
      if (req.method === 'GET') return write(res, json(200, faults.list()));
      if (req.method === 'DELETE') {
        faults.clear();
        return write(res, json(200, {}));
      }
      try {
        const { path: target, fault } = parseFaultRequest(JSON.parse(text || 'null'));
        faults.set(target, fault);
        return write(res, json(200, faults.list()));
      } catch (error) {
        return write(res, apiError(400, (error as Error).message, 'bad_request'));
      }
    }
    // '/*' answers every path no other route takes (enx-redirect's catch-all landing handler).
    const route = routes[path] ?? routes['/*'];
    if (!route) return write(res, apiError(404, `no route ${req.method} ${path}`, 'not_found'));
    let body: unknown;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        return write(res, apiError(400, 'request body is not JSON', 'unparsable_request'));
      }
    }
    const fault = faults.take(path);
    if (fault?.mode === 'slow') await sleep(fault.delayMs ?? DEFAULT_SLOW_MS, closing.signal);
    if (fault?.mode === '500') return write(res, internalError());
    if (fault?.mode === 'malformed-json') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"certificate": "trunc');
      return;
    }
    write(res, await route({ method: req.method ?? 'GET', path, query, headers: req.headers, body, fault }));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: async () => {
      closing.abort();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function isReply<T extends object>(value: T | Reply): value is Reply {
  return 'status' in value;
}

export function field(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}
