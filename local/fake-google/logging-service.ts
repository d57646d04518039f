/**
 * A loopback stand-in for Cloud Logging's LoggingServiceV2, built from the protos
 * @google-cloud/logging-api ships (google/logging/v2/logging.proto), speaking real gRPC on
 * 127.0.0.1 through the shared fake mechanism (grpc-fake.ts). Its log is the local fleet's JSON
 * log file (the functions' stdout lines), read as Cloud Logging would file them (log-entries.ts).
 *
 * ListLogEntries follows the proto's contract: resource_names required (projects/<id>), order_by
 * only "timestamp asc" (default) or "timestamp desc", ties by insert_id, page_size 50 by default and
 * refused when negative or over 1000, page_token only as returned by the previous page of the same
 * query. TailLogEntries streams the entries that arrive after the session starts, each response in
 * timestamp order, buffered for buffer_window (0-60000 ms, default 2000). Filters are the subset in
 * log-filter.ts; what is outside it, like what the real API cannot parse, is INVALID_ARGUMENT.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { loopbackClientOptions } from '../../functions/adapters/loopback-grpc';
import type { LoopbackClientOptions } from '../../functions/adapters/loopback-grpc';
import { entryFromLine, toProtoEntry } from './log-entries';
import type { StoredEntry } from './log-entries';
import { compileFilter, FilterError } from './log-filter';
import type { EntryPredicate } from './log-filter';
import { grpcError, listenOnLoopback, loadService, recordingUnaryService } from './grpc-fake';
import type { InjectedFailure, RecordedCall } from './grpc-fake';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;
export const DEFAULT_BUFFER_WINDOW_MS = 2000;
const MAX_BUFFER_WINDOW_MS = 60_000;

export interface FakeLogging {
  readonly port: number;
  readonly calls: RecordedCall[];
  failNext(count: number, code: grpc.status, message?: string, method?: string): void;
  clientOptions(): LoopbackClientOptions;
  close(): Promise<void>;
}

export interface FakeLoggingOptions {
  /** The JSON-lines file the functions write (the fleet's functions.jsonl). */
  readonly logFile: string;
  readonly projectId: string;
}

interface ListRequest {
  resourceNames?: string[];
  filter?: string;
  orderBy?: string;
  pageSize?: number;
  pageToken?: string;
}

interface TailRequest {
  resourceNames?: string[];
  filter?: string;
  bufferWindow?: { seconds?: string; nanos?: number };
}

const invalid = (message: string) => grpcError(grpc.status.INVALID_ARGUMENT, message);

/** Every entry in the file, with insert ids from the line's byte offset (stable across reads). */
function readEntries(
  file: string,
  projectId: string,
  fromByte = 0,
): { entries: StoredEntry[]; endByte: number } {
  if (!existsSync(file)) return { entries: [], endByte: 0 };
  const size = statSync(file).size;
  if (size <= fromByte) return { entries: [], endByte: size };
  const buffer = Buffer.alloc(size - fromByte);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buffer, 0, buffer.length, fromByte);
  } finally {
    closeSync(fd);
  }
  // Only whole lines: a line still being written is read on the next pass.
  const complete = buffer.lastIndexOf(0x0a) + 1;
  const entries: StoredEntry[] = [];
  let offset = 0;
  for (const line of buffer.subarray(0, complete).toString('utf8').split('\n')) {
    const at = fromByte + offset;
    offset += Buffer.byteLength(line, 'utf8') + 1;
    if (line.trim() === '') continue;
    const entry = entryFromLine(line, projectId, at.toString(36).padStart(10, '0'), new Date());
    if (entry) entries.push(entry);
  }
  return { entries, endByte: fromByte + complete };
}

function byTime(a: StoredEntry, b: StoredEntry): number {
  return a.timestamp.getTime() - b.timestamp.getTime() || (a.insertId < b.insertId ? -1 : 1);
}

function checkResources(names: readonly string[] | undefined, projectId: string): boolean {
  if (!names || names.length === 0)
    throw invalid('resource_names is required: at least one of projects/[PROJECT_ID], ...');
  if (names.length > 100) throw invalid('at most 100 resource_names may be given');
  for (const name of names) {
    if (
      !/^(projects|organizations|folders|billingAccounts)\/[^/]+(\/locations\/[^/]+\/buckets\/[^/]+\/views\/[^/]+)?$/.test(
        name,
      )
    ) {
      throw invalid(`"${name}" is not a resource name (projects/[PROJECT_ID], ...)`);
    }
  }
  return names.some((name) => name === `projects/${projectId}` || name.startsWith(`projects/${projectId}/`));
}

function compile(filter: string | undefined): EntryPredicate {
  try {
    return compileFilter(filter ?? '');
  } catch (error) {
    if (error instanceof FilterError) throw invalid(`Unparseable filter: ${error.message}`);
    throw error;
  }
}

/**
 * A page token names the query it belongs to, so a token reused with another one is refused. The
 * filter is left out: the Node client appends a fresh `timestamp >=` bound to every page's filter.
 */
function queryKey(request: ListRequest): string {
  const parts = [request.resourceNames?.join(','), (request.orderBy ?? '').trim()];
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16);
}

function listEntries(request: ListRequest, options: FakeLoggingOptions): Record<string, unknown> {
  const ours = checkResources(request.resourceNames, options.projectId);
  const orderBy = (request.orderBy ?? '').trim().replace(/\s+/g, ' ');
  if (!['', 'timestamp asc', 'timestamp desc'].includes(orderBy)) {
    throw invalid(`order_by "${request.orderBy}": only "timestamp asc" and "timestamp desc" are permitted`);
  }
  const pageSize = request.pageSize ?? 0;
  if (pageSize < 0 || pageSize > MAX_PAGE_SIZE)
    throw invalid(`page_size ${pageSize} is outside 0-${MAX_PAGE_SIZE}`);
  const matches = compile(request.filter);
  let start = 0;
  if (request.pageToken) {
    const [key, offset] = Buffer.from(request.pageToken, 'base64url').toString('utf8').split(':');
    if (key !== queryKey(request) || !/^\d+$/.test(offset ?? '')) {
      throw invalid(
        'page_token does not belong to this query: send the same parameters as the previous call',
      );
    }
    start = Number(offset);
  }
  const found = ours
    ? readEntries(options.logFile, options.projectId).entries.filter(matches).sort(byTime)
    : [];
  if (orderBy === 'timestamp desc') found.reverse();
  const size = pageSize || DEFAULT_PAGE_SIZE;
  const page = found.slice(start, start + size);
  const more = start + size < found.length;
  return {
    entries: page.map(toProtoEntry),
    ...(more
      ? { nextPageToken: Buffer.from(`${queryKey(request)}:${start + size}`, 'utf8').toString('base64url') }
      : {}),
  };
}

function bufferWindowMs(request: TailRequest): number {
  if (!request.bufferWindow) return DEFAULT_BUFFER_WINDOW_MS;
  const ms = Number(request.bufferWindow.seconds ?? 0) * 1000 + (request.bufferWindow.nanos ?? 0) / 1e6;
  if (ms < 0 || ms > MAX_BUFFER_WINDOW_MS)
    throw invalid(`buffer_window ${ms} ms is outside 0-${MAX_BUFFER_WINDOW_MS}`);
  return ms;
}

type TailCall = grpc.ServerDuplexStream<TailRequest, unknown>;

/** One tail session: the first request opens it; entries written from then on are streamed. */
function tail(call: TailCall, options: FakeLoggingOptions, calls: RecordedCall[]): void {
  let timer: NodeJS.Timeout | undefined;
  const end = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };
  call.on('cancelled', end);
  call.on('end', () => {
    end();
    call.end();
  });
  call.once('data', (request: TailRequest) => {
    calls.push({ method: 'tailLogEntries', request: request as Record<string, unknown> });
    let matches: EntryPredicate;
    let windowMs: number;
    let ours: boolean;
    try {
      ours = checkResources(request.resourceNames, options.projectId);
      matches = compile(request.filter);
      windowMs = bufferWindowMs(request);
    } catch (error) {
      // grpc-js sends an 'error' emitted on a server stream as the call's status.
      call.emit('error', error);
      return;
    }
    let position = existsSync(options.logFile) ? statSync(options.logFile).size : 0;
    timer = setInterval(
      () => {
        const { entries, endByte } = readEntries(options.logFile, options.projectId, position);
        position = endByte;
        const matching = ours ? entries.filter(matches).sort(byTime) : [];
        if (matching.length > 0) call.write({ entries: matching.map(toProtoEntry) });
      },
      Math.max(windowMs, 50),
    );
  });
}

export async function startFakeLogging(options: FakeLoggingOptions): Promise<FakeLogging> {
  const service = loadService(
    'google/logging/v2/logging.proto',
    '@google-cloud/logging-api',
    'google.logging.v2.LoggingServiceV2',
  );
  const calls: RecordedCall[] = [];
  const failures: InjectedFailure[] = [];
  const server = new grpc.Server();
  server.addService(service, {
    ...recordingUnaryService(
      { listLogEntries: (request) => listEntries(request as ListRequest, options) },
      calls,
      failures,
    ),
    tailLogEntries: (call: TailCall) => tail(call, options, calls),
  });
  const port = await listenOnLoopback(server);
  return {
    port,
    calls,
    failNext(count, code, message = 'injected failure', method) {
      failures.push({ count, code, message, method });
    },
    clientOptions: () => loopbackClientOptions(`127.0.0.1:${port}`, options.projectId),
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Open tail sessions would keep a graceful shutdown waiting.
        setTimeout(() => server.forceShutdown(), 1000).unref();
      }),
  };
}
