/**
 * A loopback stand-in for Cloud Monitoring's MetricService on the transport the functions use: the
 * HTTP/1.1 REST API (functions/adapters/monitoring-writer.ts). It is built from what @google-cloud/monitoring ships:
 * - the route of each method comes from its google.api.http annotation in the package's protos.json
 *   (CreateTimeSeries: POST /v3/{name=projects/*}/timeSeries, body "*"), so a path the real API
 *   would not route gets 404 here too;
 * - request bodies are read in the proto3 JSON mapping into the proto's own message type, so a field
 *   the real API does not know is refused, not ignored.
 *
 * Errors come back as Google's REST APIs send them: the HTTP status that google/rpc/code.proto
 * (shipped with google-gax) gives each code, and a body {"error": {code, message, status}}
 * ("Errors", Google Cloud API design guide, https://cloud.google.com/apis/design/errors, read
 * 2026-12-06).
 *
 * The rules it enforces are those of projects.timeSeries.create
 * (https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.timeSeries/create, read
 * 2026-12-06): at most 200 time series per request, one point per series, and a point must be newer
 * than the series' previous point. A point may end at most 25 hours in the past and 5 minutes in
 * the future (TimeInterval, "Writes", in the same reference, read 2026-12-06). It can also hold a series to a sampling period, the rule that
 * shapes our metric design (points of one series no more often than once per period). Valid series
 * of a request are written even when another fails, as the real API does, and the failure names the
 * series. It keeps the requests it accepts (the newest `keep` of them, when given) and can be told
 * to fail.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as protobuf from 'protobufjs';
import { fromProto3JSON } from 'proto3-json-serializer';
import type { JSONValue } from 'proto3-json-serializer';
import { loopbackRestClientOptions } from '../../functions/adapters/loopback';
import type { LoopbackRestClientOptions } from '../../functions/adapters/loopback';

export interface RecordedRequest {
  readonly name: string;
  readonly timeSeries: Record<string, unknown>[];
}

export interface FakeMetricService {
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** Forgets recorded requests and series history. */
  reset(): void;
  /** The next N calls fail with this google.rpc.Code (UNAVAILABLE by default). */
  failNext(count: number, code?: number, message?: string): void;
  /** Client options that reach this fake over REST and never touch Google's auth. */
  clientOptions(): LoopbackRestClientOptions;
  close(): Promise<void>;
}

/** google.rpc.Code: its name, and the HTTP status code.proto's "HTTP Mapping" gives it. */
const RPC_CODES: Record<number, { status: string; http: number }> = {
  1: { status: 'CANCELLED', http: 499 },
  2: { status: 'UNKNOWN', http: 500 },
  3: { status: 'INVALID_ARGUMENT', http: 400 },
  4: { status: 'DEADLINE_EXCEEDED', http: 504 },
  5: { status: 'NOT_FOUND', http: 404 },
  6: { status: 'ALREADY_EXISTS', http: 409 },
  7: { status: 'PERMISSION_DENIED', http: 403 },
  8: { status: 'RESOURCE_EXHAUSTED', http: 429 },
  9: { status: 'FAILED_PRECONDITION', http: 400 },
  10: { status: 'ABORTED', http: 409 },
  11: { status: 'OUT_OF_RANGE', http: 400 },
  12: { status: 'UNIMPLEMENTED', http: 501 },
  13: { status: 'INTERNAL', http: 500 },
  14: { status: 'UNAVAILABLE', http: 503 },
  15: { status: 'DATA_LOSS', http: 500 },
  16: { status: 'UNAUTHENTICATED', http: 401 },
};
const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;
const UNAVAILABLE = 14;

/** "The maximum number of TimeSeries objects per Create request is 200." */
const MAX_SERIES_PER_REQUEST = 200;

/** How a recorded request reads: the shape @grpc/proto-loader gave the earlier gRPC stand-in. */
const TO_OBJECT: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
};

class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

interface Route {
  readonly method: string;
  readonly verb: string;
  readonly pattern: RegExp;
  /** The request field the path variable fills ("name"). */
  readonly field: string;
  readonly requestType: protobuf.Type;
}

/** MetricService and its routes, from the protos.json the client package ships. */
function loadRoutes(): Route[] {
  const requireFromHere = createRequire(__filename);
  const clientRoot = path.dirname(requireFromHere.resolve('@google-cloud/monitoring/package.json'));
  const root = protobuf.Root.fromJSON(
    requireFromHere(path.join(clientRoot, 'build', 'protos', 'protos.json')) as protobuf.INamespace,
  );
  const service = root.lookupService('google.monitoring.v3.MetricService');
  return Object.values(service.methods).flatMap((method) => {
    const options = (method.parsedOptions ?? []) as Record<string, unknown>[];
    const rule = options.find((option) => option['(google.api.http)'])?.['(google.api.http)'] as
      Record<string, string> | undefined;
    const verb = rule && ['get', 'post', 'put', 'patch', 'delete'].find((v) => rule[v]);
    if (!rule || !verb) return [];
    return [
      {
        method: method.name,
        verb: verb.toUpperCase(),
        ...compileTemplate(rule[verb]),
        requestType: root.lookupType(method.requestType),
      },
    ];
  });
}

/** "/v3/{name=projects/*}/timeSeries" → a regex capturing name, and the field it fills. */
function compileTemplate(template: string): { pattern: RegExp; field: string } {
  let field = '';
  const source = template.replace(/\{([^}=]+)(?:=([^}]*))?\}/g, (_all, name: string, shape?: string) => {
    field = name;
    const inner = (shape ?? '*')
      .split('/')
      .map((part) => (part === '*' ? '[^/]+' : part === '**' ? '.+' : part));
    return `(${inner.join('/')})`;
  });
  const escaped = source.replace(/[.:]/g, (c) => `\\${c}`);
  return { pattern: new RegExp(`^${escaped}$`), field };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function decodeRequest(route: Route, pathValue: string, body: string): Record<string, unknown> {
  let json: JSONValue;
  try {
    json = body ? (JSON.parse(body) as JSONValue) : {};
  } catch {
    throw new RpcError(INVALID_ARGUMENT, 'Invalid JSON payload received. Unexpected token.');
  }
  const unknown = unknownField(route.requestType, json, '');
  if (unknown) {
    throw new RpcError(
      INVALID_ARGUMENT,
      `Invalid JSON payload received. Unknown name "${unknown.name}" at '${unknown.at}': Cannot find field.`,
    );
  }
  let message: protobuf.Message;
  try {
    message = fromProto3JSON(route.requestType, json) as protobuf.Message;
  } catch (error) {
    throw new RpcError(INVALID_ARGUMENT, `Invalid JSON payload received. ${(error as Error).message}`);
  }
  const request = route.requestType.toObject(message, TO_OBJECT);
  return { ...request, [route.field]: pathValue };
}

/** Messages whose JSON form is not an object of their fields (a string, or any value). */
const OPAQUE_JSON = new Set([
  '.google.protobuf.Timestamp',
  '.google.protobuf.Duration',
  '.google.protobuf.Any',
  '.google.protobuf.Struct',
  '.google.protobuf.Value',
]);

const camel = (name: string) => name.replace(/_([a-z])/g, (_all, letter: string) => letter.toUpperCase());

/**
 * The first key in `json` that is no field of `type` (by its JSON or its proto name), searched
 * through nested messages: the real API refuses such a payload instead of dropping the key.
 */
function unknownField(
  type: protobuf.Type,
  json: JSONValue,
  at: string,
): { name: string; at: string } | undefined {
  if (OPAQUE_JSON.has(type.fullName) || json === null || typeof json !== 'object' || Array.isArray(json))
    return undefined;
  for (const [key, value] of Object.entries(json)) {
    const field = type.fields[key] ?? type.fields[camel(key)];
    if (!field) return { name: key, at: at || type.name };
    const resolved = field.resolve().resolvedType;
    if (!(resolved instanceof protobuf.Type) || field.map) continue;
    const items = field.repeated && Array.isArray(value) ? value : [value];
    for (const [index, item] of items.entries()) {
      const where = field.repeated
        ? `${at}${at ? '.' : ''}${field.name}[${index}]`
        : `${at}${at ? '.' : ''}${field.name}`;
      const found = unknownField(resolved, item as JSONValue, where);
      if (found) return found;
    }
  }
  return undefined;
}

const seriesKey = (series: Record<string, unknown>) => JSON.stringify([series.metric, series.resource]);

function pointEndMs(series: Record<string, unknown>): number {
  const points = series.points as { interval?: { endTime?: { seconds?: string; nanos?: number } } }[];
  const end = points[0].interval?.endTime;
  return Number(end?.seconds ?? 0) * 1000 + (end?.nanos ?? 0) / 1e6;
}

/** How far in the past and the future a written point may end. */
const OLDEST_POINT_MS = 25 * 3_600_000;
const LATEST_POINT_MS = 5 * 60_000;

export async function startFakeMetricService(
  options: {
    samplingPeriodMs?: number;
    /** The service's clock, for the age limits of points (a test on a manual clock passes its own). */
    now?: () => number;
    /** Accepted requests kept in `requests`, newest last: the local fleet runs for days. */
    keep?: number;
  } = {},
): Promise<FakeMetricService> {
  const now = options.now ?? Date.now;
  const routes = loadRoutes();
  const requests: RecordedRequest[] = [];
  const lastPointMs = new Map<string, number>();
  const samplingPeriodMs = options.samplingPeriodMs ?? 0;
  let failures = { count: 0, code: UNAVAILABLE, message: '' };

  /** Writes every valid series; the failures, one line per series, are the error's message. */
  function createTimeSeries(request: RecordedRequest): void {
    const all = request.timeSeries ?? [];
    if (all.length === 0) throw new RpcError(INVALID_ARGUMENT, 'At least one TimeSeries is required.');
    if (all.length > MAX_SERIES_PER_REQUEST) {
      throw new RpcError(
        INVALID_ARGUMENT,
        `Field timeSeries had an invalid value: at most ${MAX_SERIES_PER_REQUEST} TimeSeries per request; got ${all.length}.`,
      );
    }
    requests.push(request);
    if (options.keep !== undefined && requests.length > options.keep)
      requests.splice(0, requests.length - options.keep);
    const problems: string[] = [];
    all.forEach((series, index) => {
      const points = (series.points as unknown[] | undefined) ?? [];
      if (points.length !== 1) {
        problems.push(
          `timeSeries[${index}]: exactly one point must be written per TimeSeries; got ${points.length}`,
        );
        return;
      }
      const key = seriesKey(series);
      const end = pointEndMs(series);
      const previous = lastPointMs.get(key);
      if (end < now() - OLDEST_POINT_MS || end > now() + LATEST_POINT_MS) {
        problems.push(
          `timeSeries[${index}]: The point's end time must be no more than 25 hours in the past and no more than 5 minutes in the future.`,
        );
      } else if (previous !== undefined && end < previous) {
        problems.push(
          `timeSeries[${index}]: Points must be written in order. One or more of the points specified had an older start time than the most recent point.`,
        );
      } else if (previous !== undefined && end - previous < samplingPeriodMs) {
        problems.push(
          `timeSeries[${index}]: One or more points were written more frequently than the maximum sampling period configured for the metric.`,
        );
      } else {
        lastPointMs.set(key, end);
      }
    });
    if (problems.length > 0) throw new RpcError(INVALID_ARGUMENT, problems.join('; '));
  }

  function route(req: http.IncomingMessage): { route: Route; value: string } {
    const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    for (const candidate of routes) {
      const match = candidate.pattern.exec(pathname);
      if (match && candidate.verb === req.method)
        return { route: candidate, value: decodeURIComponent(match[1]) };
    }
    throw new RpcError(
      NOT_FOUND,
      `The requested URL ${req.method} ${pathname} was not found on this server.`,
    );
  }

  async function handle(req: http.IncomingMessage): Promise<unknown> {
    const body = await readBody(req);
    const target = route(req);
    if (failures.count > 0) {
      failures.count -= 1;
      throw new RpcError(failures.code, failures.message);
    }
    if (target.route.method !== 'CreateTimeSeries') {
      throw new RpcError(UNIMPLEMENTED, `${target.route.method} is not implemented by this stand-in`);
    }
    createTimeSeries(decodeRequest(target.route, target.value, body) as unknown as RecordedRequest);
    return {};
  }

  const server = http.createServer((req, res) => {
    handle(req).then(
      (answer) => send(res, 200, answer),
      (error: unknown) => {
        const code = error instanceof RpcError ? error.code : 13;
        const { status, http: httpStatus } = RPC_CODES[code] ?? RPC_CODES[2];
        send(res, httpStatus, { error: { code: httpStatus, message: (error as Error).message, status } });
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    requests,
    reset() {
      requests.length = 0;
      lastPointMs.clear();
    },
    failNext(count, code = UNAVAILABLE, message = 'injected failure') {
      failures = { count, code, message };
    },
    clientOptions: () => loopbackRestClientOptions(`127.0.0.1:${port}`, 'enx-local'),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
