/**
 * What the fleet prints: one line per attempt, readable at a glance (time, job, tick, attempt,
 * outcome, duration, and what the run did), and short echoes of the functions' WARNING+ log lines.
 * The full JSON logs go to a file; these lines are for the human watching the terminal.
 */
import { formatDurationMs } from '../functions/core/duration';
import type { AttemptReport } from './scheduler';
import type { Transition } from '../functions/alerts/transitions';

/** Long enough for the longest job id in the catalog, so the columns line up. */
const JOB_COLUMN = 25;
const MAX_DETAIL = 240;

export function clockTime(at: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
}

/** The tick in UTC, as the header carries it; the date only when it is not today (UTC). */
export function tickLabel(tickAt: Date, now: Date): string {
  const iso = tickAt.toISOString().replace(/\.000Z$/, 'Z');
  return iso.slice(0, 10) === now.toISOString().slice(0, 10) ? iso.slice(11) : iso;
}

export function durationLabel(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return formatDurationMs(Math.round(ms / 1000) * 1000);
}

/**
 * A job's result summary in a few words: non-zero numbers, non-empty lists (as their length), and
 * the non-zero entries of nested counters such as cleanup's `purged`. Durations (…Ms) are left out.
 */
export function summariseResult(result: unknown): string {
  if (result === null || typeof result !== 'object' || Array.isArray(result)) return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(result)) {
    if (key.endsWith('Ms')) continue;
    if (typeof value === 'number') {
      if (value !== 0) parts.push(`${key}=${value}`);
    } else if (Array.isArray(value)) {
      if (value.length > 0) parts.push(`${key}=${value.length}`);
    } else if (value !== null && typeof value === 'object') {
      const counts = Object.entries(value).filter(([, n]) => typeof n === 'number' && n !== 0);
      if (counts.length > 0) parts.push(`${key} ${counts.map(([name, n]) => `${name}=${n}`).join(' ')}`);
    }
  }
  return parts.join('  ');
}

function field(body: unknown, name: string): unknown {
  return body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
}

function outcomeLabel(report: AttemptReport): string {
  const status = field(report.body, 'status');
  const word = typeof status === 'string' ? status : report.status === undefined ? 'no answer' : 'answered';
  return report.ok || report.status === undefined ? word : `${word} ${report.status}`;
}

function detailOf(report: AttemptReport): string {
  const body = report.body;
  if (report.ok) {
    const reason = field(body, 'reason');
    if (typeof reason === 'string') return reason;
    const summary = summariseResult(field(body, 'result'));
    return summary === '' ? 'nothing to do' : summary;
  }
  const errors = field(body, 'errors');
  if (Array.isArray(errors) && errors.length > 0) return errors.join('; ');
  const error = field(body, 'error') ?? report.error;
  if (typeof error === 'string') return error;
  return typeof body === 'string' ? body : '';
}

function nextLabel(report: AttemptReport): string {
  const next = report.next;
  if (next.kind === 'retry') return ` → retry ${next.retry} in ${durationLabel(next.delayMs)}`;
  if (next.kind === 'done') return '';
  if (next.reason === 'next-tick-due') return ' → no more retries: the next tick is due';
  if (next.reason === 'retries-exhausted') return ' → tick given up: every retry failed';
  return ' → not retried: the fleet is stopping';
}

function clip(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_DETAIL ? `${line.slice(0, MAX_DETAIL - 1)}…` : line;
}

export function formatAttemptLine(report: AttemptReport, now = new Date()): string {
  const trigger = report.trigger === 'run-now' ? ' (run now)' : '';
  return [
    clockTime(report.startedAt),
    report.jobId.padEnd(JOB_COLUMN),
    `tick ${tickLabel(report.tickAt, now)}${trigger}`,
    `try ${report.attempt}/${report.maxAttempts}`,
    outcomeLabel(report).padEnd(11),
    durationLabel(report.durationMs).padStart(8),
    // A success's counts are shown whole; an error is cut short (the full text is in the log file).
    (report.ok ? detailOf(report) : clip(detailOf(report))) + nextLabel(report),
  ].join('  ');
}

export function formatMissedTicksLine(jobId: string, missed: number, tickAt: Date, now = new Date()): string {
  return `${clockTime(now)}  ${jobId.padEnd(JOB_COLUMN)}  ${missed} tick(s) passed while the job was busy or the machine slept; running tick ${tickLabel(tickAt, now)} late`;
}

/** A function's own log entry, shortened for the console (WARNING and above are shown). */
export function formatFunctionLogLine(entry: Record<string, unknown>, now = new Date()): string {
  const labels = entry['logging.googleapis.com/labels'] as Record<string, string> | undefined;
  const job = labels?.job ?? 'runtime';
  const tick = labels?.tick ? ` [tick ${labels.tick}]` : '';
  return `${clockTime(now)}  ${job.padEnd(JOB_COLUMN)}  ${String(entry.severity)}: ${clip(String(entry.message ?? ''))}${tick}`;
}

/** An alert starting or stopping to fire, as the local evaluator saw it. */
export function formatAlertLine(transition: Transition, at: Date): string {
  const { verdict } = transition;
  const what = transition.kind === 'fired' ? `ALERT ${verdict.severity}` : 'RESOLVED';
  return `${clockTime(at)}  ${what.padEnd(JOB_COLUMN)} ${verdict.alertId} ${verdict.subject}: ${verdict.detail}`;
}
