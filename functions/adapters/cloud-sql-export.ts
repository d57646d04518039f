/**
 * The database export on Cloud SQL: the Admin API's export of the database to the backup bucket
 * (REST, v1), then the returned operation polled with backoff until it is DONE. The original
 * treated the POST's 200 as success although it only means "started"; here a run succeeds only when
 * the operation finished without errors, so the success heartbeat means a backup exists.
 */
import type { DatabaseExport, ExportRequest, ExportResult } from '../ports/database-export';
import { googleError, grpcCodeOfHttpStatus, GrpcCode, restErrorMessage } from './google-errors';
import type { GoogleCall } from './google-errors';
import { deadlineSignal } from '../core/timeout';

export const CLOUD_SQL_ADMIN_ENDPOINT = 'https://sqladmin.googleapis.com';

export interface CloudSqlInstance {
  readonly project: string;
  readonly instance: string;
}

/**
 * BACKUP_DATABASE_INSTANCE_URL as infra passes it: the instance's self link
 * (https://sqladmin.googleapis.com/sql/v1beta4/projects/P/instances/I); the v1 form and a bare
 * projects/P/instances/I are accepted too.
 */
export function parseCloudSqlInstance(raw: string): CloudSqlInstance {
  const match =
    /^(?:https:\/\/sqladmin\.googleapis\.com\/(?:sql\/v1beta4|v1)\/)?projects\/([^/]+)\/instances\/([^/]+)$/.exec(
      raw.trim(),
    );
  if (!match) {
    throw new Error(
      `"${raw}" is not a Cloud SQL instance: write its self link, https://sqladmin.googleapis.com/sql/v1beta4/projects/P/instances/I`,
    );
  }
  return { project: match[1], instance: match[2] };
}

export interface CloudSqlExportOptions {
  readonly instance: CloudSqlInstance;
  /** BACKUP_BUCKET, without gs://. */
  readonly bucket: string;
  /** BACKUP_DATABASE_NAME. */
  readonly databaseName: string;
  /** The API's base URL; a loopback stand-in in tests. */
  readonly endpoint?: string;
  /** Headers that authorize a request (a Bearer token in production; none for a loopback stand-in). */
  readonly authorize: () => Promise<Record<string, string>>;
  /**
   * Serverless export: a temporary instance does the work, so the primary is not loaded. Off by
   * default, as ENX: it costs more and takes longer to start.
   */
  readonly offload?: boolean;
  /** First pause between operation polls; grows by half up to pollMaxMs. */
  readonly pollInitialMs?: number;
  readonly pollMaxMs?: number;
  /** Each HTTP request's own deadline. */
  readonly requestTimeoutMs?: number;
  readonly fetch?: typeof fetch;
}

interface Operation {
  name?: string;
  status?: string;
  error?: { errors?: { code?: string; message?: string }[] };
}

export class CloudSqlExport implements DatabaseExport {
  private readonly endpoint: string;
  private readonly instanceName: string;

  constructor(private readonly options: CloudSqlExportOptions) {
    this.endpoint = (options.endpoint ?? CLOUD_SQL_ADMIN_ENDPOINT).replace(/\/+$/, '');
    this.instanceName = `projects/${options.instance.project}/instances/${options.instance.instance}`;
    if (!/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(options.bucket)) {
      throw new Error(`BACKUP_BUCKET "${options.bucket}" is not a bucket name (write it without gs://)`);
    }
  }

  async exportDatabase(request: ExportRequest): Promise<ExportResult> {
    const { signal } = request;
    signal?.throwIfAborted();
    const objectName = request.objectName.replace(/^\/+/, '');
    if (objectName === '') throw new Error('the backup object name is empty');
    const uri = `gs://${this.options.bucket}/${objectName}`;
    const started = await this.send<Operation>(
      'POST',
      `/v1/${this.instanceName}/export`,
      {
        exportContext: {
          kind: 'sql#exportContext',
          fileType: 'SQL',
          uri,
          databases: [this.options.databaseName],
          offload: this.options.offload ?? false,
        },
      },
      { action: 'export', resource: this.instanceName, setting: 'BACKUP_DATABASE_INSTANCE_URL' },
      signal,
    );
    const name = started.name;
    if (!name)
      throw new Error(`Cloud SQL accepted the export of ${this.instanceName} but named no operation`);
    let operation = started;
    let pauseMs = this.options.pollInitialMs ?? 2_000;
    while (operation.status !== 'DONE') {
      await this.pause(pauseMs, name, signal);
      pauseMs = Math.min(Math.round(pauseMs * 1.5), this.options.pollMaxMs ?? 15_000);
      operation = await this.send<Operation>(
        'GET',
        `/v1/projects/${this.options.instance.project}/operations/${name}`,
        undefined,
        {
          action: 'read the export operation of',
          resource: this.instanceName,
          setting: 'BACKUP_DATABASE_INSTANCE_URL',
        },
        signal,
      ).catch((error: Error) => {
        // Cut off mid-poll by the job's own deadline: the same answer as when cut off between polls.
        if (signal?.aborted) throw this.stillRunning(name);
        throw new Error(`${error.message} (export operation ${name} may still be running)`, { cause: error });
      });
    }
    const errors = operation.error?.errors ?? [];
    if (errors.length > 0) {
      const said = errors.map((e) => `${e.code ?? 'ERROR'}: ${e.message ?? ''}`).join('; ');
      throw new Error(
        `Cloud SQL export operation ${name} of ${this.instanceName} to ${uri} failed: ${said}. Check that bucket ` +
          `${this.options.bucket} exists (BACKUP_BUCKET) and that the instance's own service account may write to it ` +
          '(roles/storage.objectAdmin on the bucket)',
      );
    }
    return { uri, operation: name };
  }

  private stillRunning(operation: string): Error {
    return new Error(
      `stopped waiting for Cloud SQL export operation ${operation} of ${this.instanceName}: it is still running and ` +
        `may yet finish; check it with: gcloud sql operations describe ${operation} --project ${this.options.instance.project}`,
    );
  }

  private async pause(ms: number, operation: string, signal: AbortSignal | undefined): Promise<void> {
    const stillRunning = () => this.stillRunning(operation);
    if (signal?.aborted) throw stillRunning();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(stillRunning());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async send<T>(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    what: Pick<GoogleCall, 'action' | 'resource' | 'setting'>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const call: GoogleCall = {
      service: 'Cloud SQL Admin',
      role: 'the enxJobsCloudSqlExporter role (cloudsql.instances.export and cloudsql.instances.get; or roles/cloudsql.editor)',
      ...what,
    };
    const deadline = deadlineSignal(signal, this.options.requestTimeoutMs ?? 30_000);
    let response: Response;
    let text: string;
    try {
      response = await (this.options.fetch ?? fetch)(`${this.endpoint}${path}`, {
        method,
        headers: {
          ...(await this.options.authorize()),
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
        signal: deadline.signal,
      });
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) throw error;
      throw googleError(call, error, GrpcCode.UNAVAILABLE);
    } finally {
      deadline.clear();
    }
    if (!response.ok) {
      // Not Google's JSON (a proxy's page, say): the start of the text.
      const message = restErrorMessage(text) ?? text.slice(0, 500);
      // 409 from Cloud SQL means another operation on the instance is running: try again later.
      const code = response.status === 409 ? GrpcCode.ABORTED : grpcCodeOfHttpStatus(response.status);
      throw googleError(call, { message: `HTTP ${response.status}: ${message}` }, code ?? -1);
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new Error(`Cloud SQL Admin answered ${method} ${path} with something that is not JSON`);
    }
  }
}
