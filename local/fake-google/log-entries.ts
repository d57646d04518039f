/**
 * What Cloud Logging makes of a line a Cloud Run container writes to stdout, for the loopback
 * Logging API. Sources (checked 2026-12): "Structured logging" in the Cloud Logging docs
 * (cloud.google.com/logging/docs/structured-logging: the special JSON fields `severity`, `time`,
 * `logging.googleapis.com/labels`, `logging.googleapis.com/trace`, `logging.googleapis.com/spanId`,
 * `logging.googleapis.com/insertId` are lifted into the LogEntry and removed from `jsonPayload`;
 * everything else, `message` included, stays in `jsonPayload`), Cloud Run's logging page
 * (resource type `cloud_run_revision`, log `run.googleapis.com/stdout`) and the LogEntry message in
 * google/logging/v2/log_entry.proto as shipped in @google-cloud/logging-api.
 *
 * The local fleet writes every function's lines to one file; the `job` label (which the runtime
 * sets on every attempt's lines) names the function, i.e. the Cloud Run service.
 */
import { LOG_SEVERITIES } from '../../functions/alerts/log-filters';
import type { LogSeverity } from '../../functions/alerts/log-filters';

export interface StoredEntry {
  readonly logName: string;
  readonly resource: { readonly type: string; readonly labels: Readonly<Record<string, string>> };
  readonly timestamp: Date;
  readonly severity: LogSeverity;
  readonly insertId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly trace?: string;
  readonly spanId?: string;
  readonly jsonPayload: Readonly<Record<string, unknown>>;
}

const LIFTED = [
  'severity',
  'time',
  'timestamp',
  'logging.googleapis.com/labels',
  'logging.googleapis.com/trace',
  'logging.googleapis.com/spanId',
  'logging.googleapis.com/insertId',
  'logging.googleapis.com/trace_sampled',
];

function severityOf(value: unknown): LogSeverity {
  const name = String(value ?? '').toUpperCase();
  return (LOG_SEVERITIES as readonly string[]).includes(name) ? (name as LogSeverity) : 'DEFAULT';
}

function stringLabels(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object') return {};
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, String(item)]));
}

/**
 * The entry for one stdout line, or undefined for a line that is not a JSON object (Cloud Logging
 * would file it as textPayload; the runtime writes none).
 */
export function entryFromLine(
  line: string,
  projectId: string,
  insertId: string,
  receivedAt: Date,
): StoredEntry | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const fields = parsed as Record<string, unknown>;
  const labels = stringLabels(fields['logging.googleapis.com/labels']);
  const stamped = Date.parse(String(fields.time ?? fields.timestamp ?? ''));
  const service = labels.job ?? 'unknown';
  const payload = Object.fromEntries(Object.entries(fields).filter(([key]) => !LIFTED.includes(key)));
  return {
    logName: `projects/${projectId}/logs/run.googleapis.com%2Fstdout`,
    resource: {
      type: 'cloud_run_revision',
      labels: {
        project_id: projectId,
        service_name: service,
        configuration_name: service,
        revision_name: `${service}-local`,
        location: 'local',
      },
    },
    timestamp: Number.isNaN(stamped) ? receivedAt : new Date(stamped),
    severity: severityOf(fields.severity),
    insertId: String(fields['logging.googleapis.com/insertId'] ?? insertId),
    labels,
    ...(typeof fields['logging.googleapis.com/trace'] === 'string'
      ? { trace: fields['logging.googleapis.com/trace'] }
      : {}),
    ...(typeof fields['logging.googleapis.com/spanId'] === 'string'
      ? { spanId: fields['logging.googleapis.com/spanId'] }
      : {}),
    jsonPayload: payload,
  };
}

/** google.protobuf.Value / Struct in the shape the proto loader serialises. */
function protoValue(value: unknown): Record<string, unknown> {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'string') return { stringValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(protoValue) } };
  if (typeof value === 'object') return { structValue: protoStruct(value as Record<string, unknown>) };
  return { stringValue: String(value) };
}

function protoStruct(value: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return { fields: Object.fromEntries(Object.entries(value).map(([key, item]) => [key, protoValue(item)])) };
}

function protoTimestamp(at: Date): { seconds: string; nanos: number } {
  const ms = at.getTime();
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

/** The LogEntry message as the gRPC server sends it. */
export function toProtoEntry(entry: StoredEntry): Record<string, unknown> {
  return {
    logName: entry.logName,
    resource: entry.resource,
    timestamp: protoTimestamp(entry.timestamp),
    receiveTimestamp: protoTimestamp(entry.timestamp),
    severity: entry.severity,
    insertId: entry.insertId,
    labels: entry.labels,
    ...(entry.trace ? { trace: entry.trace } : {}),
    ...(entry.spanId ? { spanId: entry.spanId } : {}),
    jsonPayload: protoStruct(entry.jsonPayload),
  };
}
