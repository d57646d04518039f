/**
 * A loopback stand-in for the Cloud SQL Admin API (REST, v1), enough for exports: POST
 * .../instances/<i>/export starts an operation that goes PENDING → RUNNING → DONE as it is polled,
 * and GET .../operations/<name> reports it. It answers errors in Google's JSON error shape, records
 * every request (method, path, body, authorization header) and can be told to end the next export
 * in an error, keep it RUNNING forever, or refuse it with an HTTP status (403, 404, 409, 429, 503).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedSqlAdminRequest {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  readonly authorization?: string;
}

export interface FakeOperation {
  name: string;
  status: 'PENDING' | 'RUNNING' | 'DONE';
  polls: number;
  exportUri: string;
  behaviour: ExportBehaviour;
}

export type ExportBehaviour =
  | { readonly kind: 'succeed'; readonly runningPolls?: number }
  | { readonly kind: 'fail'; readonly errors: readonly { code: string; message: string }[] }
  | { readonly kind: 'run-forever' }
  | { readonly kind: 'refuse'; readonly status: number; readonly message?: string };

export interface FakeSqlAdmin {
  /** http://127.0.0.1:<port>, for SQLADMIN_API_ENDPOINT. */
  readonly url: string;
  readonly requests: RecordedSqlAdminRequest[];
  readonly operations: Map<string, FakeOperation>;
  /** `projects/<p>/instances/<i>` that exist. */
  readonly instances: Set<string>;
  /** Buckets an export may write to; others end the operation in Cloud SQL's bucket error. */
  readonly buckets: Set<string>;
  /** How the next export goes (then back to succeeding). */
  nextExport(behaviour: ExportBehaviour): void;
  close(): Promise<void>;
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  503: 'UNAVAILABLE',
};

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(JSON.stringify(body));
}

const googleError = (res: ServerResponse, status: number, message: string) =>
  send(res, status, {
    error: { code: status, message, status: STATUS_NAMES[status] ?? 'UNKNOWN', errors: [{ message }] },
  });

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

export async function startFakeSqlAdmin(
  options: { instances?: readonly string[]; buckets?: readonly string[] } = {},
): Promise<FakeSqlAdmin> {
  const requests: RecordedSqlAdminRequest[] = [];
  const operations = new Map<string, FakeOperation>();
  const instances = new Set(options.instances ?? []);
  const buckets = new Set(options.buckets ?? []);
  let next: ExportBehaviour | undefined;
  let counter = 0;

  const view = (op: FakeOperation, project: string) => {
    const body: Record<string, unknown> = {
      kind: 'sql#operation',
      name: op.name,
      status: op.status,
      operationType: 'EXPORT',
      selfLink: `https://sqladmin.googleapis.com/v1/projects/${project}/operations/${op.name}`,
      exportContext: { uri: op.exportUri, fileType: 'SQL' },
    };
    if (op.status === 'DONE' && op.behaviour.kind === 'fail')
      body.error = { kind: 'sql#operationErrors', errors: op.behaviour.errors };
    return body;
  };

  const server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '').split('?')[0];
      const body = req.method === 'POST' ? await readJson(req).catch(() => 'invalid json') : undefined;
      requests.push({ method: req.method ?? '', path, body, authorization: req.headers.authorization });
      const exportMatch = /^\/v1\/(projects\/[^/]+\/instances\/[^/]+)\/export$/.exec(path);
      const operationMatch = /^\/v1\/projects\/([^/]+)\/operations\/([^/]+)$/.exec(path);
      if (req.method === 'POST' && exportMatch) {
        const behaviour = next ?? { kind: 'succeed' };
        next = undefined;
        if (behaviour.kind === 'refuse') {
          googleError(res, behaviour.status, behaviour.message ?? `refused with ${behaviour.status}`);
          return;
        }
        if (!instances.has(exportMatch[1])) {
          googleError(res, 404, 'The Cloud SQL instance does not exist.');
          return;
        }
        const context = (body as { exportContext?: { uri?: string } } | undefined)?.exportContext;
        if (!context?.uri?.startsWith('gs://')) {
          googleError(res, 400, 'Invalid request: exportContext.uri must be a gs:// URI.');
          return;
        }
        const bucket = context.uri.slice(5).split('/')[0];
        counter += 1;
        const op: FakeOperation = {
          name: `fake-export-${counter}`,
          status: 'PENDING',
          polls: 0,
          exportUri: context.uri,
          behaviour: buckets.has(bucket)
            ? behaviour
            : {
                kind: 'fail',
                errors: [
                  {
                    code: 'ERROR_RDBMS',
                    message: `GCS bucket ${bucket} does not exist or the instance service account cannot write to it.`,
                  },
                ],
              },
        };
        operations.set(op.name, op);
        send(res, 200, view(op, exportMatch[1].split('/')[1]));
        return;
      }
      if (req.method === 'GET' && operationMatch) {
        const op = operations.get(operationMatch[2]);
        if (!op) {
          googleError(res, 404, `The operation ${operationMatch[2]} does not exist.`);
          return;
        }
        op.polls += 1;
        const runningPolls = op.behaviour.kind === 'succeed' ? (op.behaviour.runningPolls ?? 1) : 1;
        if (op.behaviour.kind === 'run-forever') op.status = 'RUNNING';
        else if (op.polls === 1) op.status = 'RUNNING';
        else if (op.polls > runningPolls) op.status = 'DONE';
        send(res, 200, view(op, operationMatch[1]));
        return;
      }
      googleError(res, 404, `no route for ${req.method} ${path}`);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    operations,
    instances,
    buckets,
    nextExport(behaviour) {
      next = behaviour;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
