/**
 * Structured logs: one JSON line per event on stdout, written synchronously, in the shape Cloud
 * Logging reads from Cloud Run (`severity`, `message`, `logging.googleapis.com/labels`,
 * `logging.googleapis.com/trace`, `logging.googleapis.com/spanId`). Nothing goes over the network
 * from the job path: an async log client can lose lines once the response is sent.
 *
 * Secrets never reach a line: fields whose names look secret are masked, and every value the
 * runtime registers as secret (config secrets, API keys, bearer tokens) is scrubbed from the
 * serialized text, wherever it appears.
 */
export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR' | 'CRITICAL';

export type LogFields = Record<string, unknown>;

export interface LogContext {
  /** Becomes `logging.googleapis.com/labels`: what queries and log-based metrics key on. */
  labels?: Record<string, string>;
  /** `projects/<project>/traces/<trace id>`, from X-Cloud-Trace-Context. */
  trace?: string;
  spanId?: string;
  fields?: LogFields;
}

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  notice(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger whose lines also carry these labels, trace and fields. */
  child(context: LogContext): Logger;
}

export type LineWriter = (line: string) => void;

const SECRET_FIELD = /pass(word)?|secret|token|api[-_]?key|authorization|private[-_]?key|credential/i;
const MASK = '[redacted]';
const MIN_SECRET_LENGTH = 4;

/** Values that must never be written; one per runtime, shared by its loggers. */
export class SecretRegistry {
  private readonly values = new Set<string>();
  add(value: string | undefined): void {
    if (value && value.length >= MIN_SECRET_LENGTH) this.values.add(value);
  }
  scrub(text: string): string {
    let result = text;
    for (const value of this.values) {
      if (result.includes(value)) result = result.split(value).join(MASK);
      const escaped = JSON.stringify(value).slice(1, -1);
      if (escaped !== value && result.includes(escaped)) result = result.split(escaped).join(MASK);
    }
    return result;
  }
}

function maskFields(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (Array.isArray(value)) return value.map((item) => maskFields(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = SECRET_FIELD.test(key) && typeof item === 'string' ? MASK : maskFields(item, depth + 1);
  }
  return out;
}

/**
 * A copy of a value fit to leave the process (an HTTP answer, a ledger row): the same masking and
 * scrubbing as a log line gets. A job's result summary can quote a secret as easily as a log can.
 */
export function redact<T>(value: T, secrets: SecretRegistry): T {
  if (value === undefined) return value;
  return JSON.parse(secrets.scrub(JSON.stringify(maskFields(value)))) as T;
}

const stdoutWriter: LineWriter = (line) => {
  process.stdout.write(line + '\n');
};

export interface LoggerOptions {
  write?: LineWriter;
  secrets?: SecretRegistry;
  /** Lines below this severity are dropped. Default INFO; LOG_LEVEL=debug shows more. */
  minSeverity?: Severity;
}

const RANK: Record<Severity, number> = { DEBUG: 0, INFO: 1, NOTICE: 2, WARNING: 3, ERROR: 4, CRITICAL: 5 };

export function createLogger(options: LoggerOptions = {}, context: LogContext = {}): Logger {
  const write = options.write ?? stdoutWriter;
  // A logger made without a registry (a test's, a tool's) still masks secret-named fields.
  const secrets = options.secrets ?? new SecretRegistry();
  const minRank = RANK[options.minSeverity ?? 'INFO'];

  const emit = (severity: Severity, message: string, fields: LogFields = {}): void => {
    if (RANK[severity] < minRank) return;
    const time = new Date().toISOString();
    const entry: Record<string, unknown> = {
      severity,
      message,
      time,
      ...(maskFields({ ...context.fields, ...fields }) as LogFields),
    };
    // A field that happens to be called severity or message must not change what Cloud Logging
    // files the line under (alerts and queries key on severity).
    Object.assign(entry, { severity, message, time });
    if (context.labels) entry['logging.googleapis.com/labels'] = context.labels;
    if (context.trace) entry['logging.googleapis.com/trace'] = context.trace;
    if (context.spanId) entry['logging.googleapis.com/spanId'] = context.spanId;
    let line: string;
    try {
      line = JSON.stringify(entry);
    } catch {
      line = JSON.stringify({ severity, message, time, note: 'fields were not serialisable' });
    }
    write(secrets.scrub(line));
  };

  return {
    debug: (message, fields) => emit('DEBUG', message, fields),
    info: (message, fields) => emit('INFO', message, fields),
    notice: (message, fields) => emit('NOTICE', message, fields),
    warn: (message, fields) => emit('WARNING', message, fields),
    error: (message, fields) => emit('ERROR', message, fields),
    child: (extra) =>
      createLogger(options, {
        labels: extra.labels || context.labels ? { ...context.labels, ...extra.labels } : undefined,
        trace: extra.trace ?? context.trace,
        spanId: extra.spanId ?? context.spanId,
        fields: { ...context.fields, ...extra.fields },
      }),
  };
}
