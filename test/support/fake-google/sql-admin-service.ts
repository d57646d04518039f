/**
 * A loopback stand-in for the Cloud SQL Admin API (REST), enough for exports (v1) and for the Cloud
 * SQL connectors (v1beta4 connect.get and connect.generateEphemeralCert, for the instances given as
 * FakeCloudSqlInstance, see cloud-sql-instance.ts for the documentation they follow). Exports: POST
 * .../instances/<i>/export starts an operation that goes PENDING → RUNNING → DONE as it is polled,
 * and GET .../operations/<name> reports it. It answers errors in Google's JSON error shape, records
 * every request (method, path, body, authorization header) and can be told to end the next export
 * in an error, keep it RUNNING forever, or refuse it with an HTTP status (403, 404, 409, 429, 503).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FakeCloudSqlInstance } from './cloud-sql-instance';

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

const ONE_HOUR_MS = 3_600_000;

/** connect.get and connect.generateEphemeralCert; false when the request is for another route. */
function answerConnect(
  method: string,
  path: string,
  body: unknown,
  connectable: ReadonlyMap<string, FakeCloudSqlInstance>,
  res: ServerResponse,
): boolean {
  const settings = /^\/sql\/v1beta4\/(projects\/[^/]+\/instances\/[^/:]+)\/connectSettings$/.exec(path);
  const ephemeral = /^\/sql\/v1beta4\/(projects\/[^/]+\/instances\/[^/:]+):generateEphemeralCert$/.exec(path);
  const match = method === 'GET' ? settings : method === 'POST' ? ephemeral : null;
  if (!match) return false;
  const fake = connectable.get(match[1]);
  if (!fake) {
    googleError(res, 404, 'The Cloud SQL instance does not exist.');
    return true;
  }
  const expirationTime = new Date(Date.now() + ONE_HOUR_MS).toISOString();
  if (match === settings) {
    send(res, 200, {
      kind: 'sql#connectSettings',
      serverCaCert: { kind: 'sql#sslCert', cert: fake.caCertificate, expirationTime },
      ipAddresses: [{ type: 'PRIMARY', ipAddress: fake.ipAddress }],
      region: fake.region,
      databaseVersion: 'POSTGRES_15',
      backendType: 'SECOND_GEN',
    });
    return true;
  }
  const publicKey = (body as { public_key?: unknown } | undefined)?.public_key;
  if (typeof publicKey !== 'string' || !publicKey.includes('PUBLIC KEY')) {
    googleError(res, 400, 'Invalid request: public_key must be a PEM-encoded public key.');
    return true;
  }
  send(res, 200, {
    ephemeralCert: { kind: 'sql#sslCert', cert: fake.signEphemeralCertificate(publicKey), expirationTime },
  });
  return true;
}

export async function startFakeSqlAdmin(
  options: {
    instances?: readonly string[];
    buckets?: readonly string[];
    /** Instances a connector may dial, by their `projects/<p>/instances/<i>`. */
    connectable?: readonly FakeCloudSqlInstance[];
  } = {},
): Promise<FakeSqlAdmin> {
  const connectable = new Map(
    (options.connectable ?? []).map((fake) => [`projects/${fake.project}/instances/${fake.instance}`, fake]),
  );
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
      if (answerConnect(req.method ?? '', path, body, connectable, res)) return;
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
