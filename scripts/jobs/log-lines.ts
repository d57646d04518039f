/**
 * One readable line per log entry of a job: time, tick, attempt, severity, event, then what went
 * wrong (the runtime's `errors`) or the message.
 */
import type { Entry } from '@google-cloud/logging';

export interface JobEvent {
  readonly at: Date;
  readonly tick: string;
  readonly attempt: string;
  readonly severity: string;
  readonly event: string;
  readonly message: string;
  readonly errors: readonly string[];
  readonly durationMs?: number;
}

export function jobEvent(entry: Entry): JobEvent {
  const payload = (entry.data && typeof entry.data === 'object' ? entry.data : {}) as Record<string, unknown>;
  const labels = entry.metadata.labels ?? {};
  const at = entry.metadata.timestamp;
  return {
    at: at instanceof Date ? at : new Date(String(at ?? 0)),
    tick: labels.tick ?? '',
    attempt: labels.attempt ?? '',
    severity: String(entry.metadata.severity ?? 'DEFAULT'),
    event: typeof payload.event === 'string' ? payload.event : '',
    message: typeof payload.message === 'string' ? payload.message : '',
    errors: Array.isArray(payload.errors) ? payload.errors.map(String) : [],
    durationMs: typeof payload.durationMs === 'number' ? payload.durationMs : undefined,
  };
}

const shortTime = (iso: string) => iso.replace(/^\d{4}-\d\d-\d\dT/, '').replace(/\.000Z$/, 'Z');

export function formatJobEvent(event: JobEvent): string {
  const time = event.at.toISOString().replace('T', ' ');
  const tick = event.tick ? `tick ${shortTime(event.tick)}` : 'no tick';
  const attempt = event.attempt ? `try ${event.attempt}` : '';
  const what = event.errors.length > 0 ? event.errors.join('; ') : event.message;
  const took = event.durationMs !== undefined ? ` (${event.durationMs} ms)` : '';
  return `${time}  ${tick.padEnd(15)} ${attempt.padEnd(6)} ${event.severity.padEnd(8)} ${(event.event || '-').padEnd(10)} ${what}${took}`;
}
