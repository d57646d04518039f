/**
 * The status page: the same FleetStatus as /status, as one small HTML page (no framework, no
 * script), one table per job, refreshed by the browser every 10 seconds.
 */
import { formatDurationMs } from '../functions/core/duration';
import { durationLabel, summariseResult } from './console-lines';
import type { AttemptRow, FleetStatus, JobStatus } from './status';

const REFRESH_SECONDS = 10;

export function escapeHtml(text: unknown): string {
  return String(text ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function time(value: string | null): string {
  if (!value) return '–';
  const at = new Date(value);
  return `<time datetime="${escapeHtml(value)}" title="${escapeHtml(value)}">${escapeHtml(
    at
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, 'Z'),
  )}</time>`;
}

function inFromNow(value: string | null, now: Date): string {
  if (!value) return '';
  const ms = new Date(value).getTime() - now.getTime();
  return ms >= 0 ? ` (in ${durationLabel(Math.round(ms / 1000) * 1000)})` : '';
}

function attemptDetail(row: AttemptRow): string {
  if (row.error) return `<span class="error">${escapeHtml(row.error)}</span>`;
  const summary = summariseResult(row.result);
  return escapeHtml(summary === '' ? (row.state === 'succeeded' ? 'nothing to do' : '') : summary);
}

function attemptsTable(job: JobStatus): string {
  if (job.lastAttempts.length === 0) return '<p class="muted">No attempts recorded yet.</p>';
  const rows = job.lastAttempts
    .map(
      (row) => `<tr>
  <td>${time(row.startedAt)}</td>
  <td><code>${escapeHtml(row.tickId)}</code></td>
  <td class="num">${row.attempt}</td>
  <td><span class="state ${escapeHtml(row.state)}">${escapeHtml(row.state)}${row.exhausted ? ' (exhausted)' : ''}</span></td>
  <td class="num">${row.durationMs === null ? '–' : escapeHtml(durationLabel(row.durationMs))}</td>
  <td>${attemptDetail(row)}</td>
</tr>`,
    )
    .join('\n');
  return `<table>
<thead><tr><th>started</th><th>tick</th><th>attempt</th><th>state</th><th>duration</th><th>result / error</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
}

function jobSection(job: JobStatus, now: Date): string {
  const t = job.tallies;
  const inFlight = job.scheduler.inFlight
    ? `<p class="running">Running now: tick <code>${escapeHtml(job.scheduler.inFlight.tickAt)}</code>, attempt ${job.scheduler.inFlight.attempt}.</p>`
    : '';
  const lastCall = job.scheduler.lastCall;
  const lastCallNote =
    lastCall && !lastCall.ok
      ? `<p class="error">Last scheduler call: ${escapeHtml(
          lastCall.httpStatus === null ? (lastCall.error ?? 'no answer') : `HTTP ${lastCall.httpStatus}`,
        )} (${escapeHtml(lastCall.next)}).</p>`
      : '';
  return `<section>
<h2 id="${escapeHtml(job.id)}">${escapeHtml(job.id)}</h2>
<p>${escapeHtml(job.description)}</p>
<dl>
  <dt>schedule</dt><dd><code>${escapeHtml(job.cron)}</code> ${escapeHtml(job.timeZone)}</dd>
  <dt>next tick</dt><dd>${time(job.nextScheduledAt)}${escapeHtml(inFromNow(job.nextScheduledAt, now))}</dd>
  <dt>limits</dt><dd>timeout ${escapeHtml(formatDurationMs(job.timeoutMs))}, attempt deadline ${escapeHtml(
    formatDurationMs(job.attemptDeadlineMs),
  )}, ${job.retry.retryCount} retries</dd>
  <dt>since start</dt><dd>${t.succeeded} succeeded, ${t.failed} failed, ${t.skipped} skipped, ${t.exhausted} exhausted; last success ${time(t.lastSuccessAt)}</dd>
  <dt>function</dt><dd><code>${escapeHtml(job.httpMethod)} ${escapeHtml(job.url)}</code></dd>
</dl>
${inFlight}${lastCallNote}
${attemptsTable(job)}
</section>`;
}

const STYLE = `
:root { color-scheme: light dark; --muted: #6b7280; --ok: #15803d; --bad: #b91c1c; --warn: #a16207; --line: #d1d5db; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .3rem; }
code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, monospace; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .6rem 0; }
dt { color: var(--muted); }
dd { margin: 0; }
table { border-collapse: collapse; width: 100%; margin-top: .5rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); }
td.num { text-align: right; white-space: nowrap; }
.muted, .meta { color: var(--muted); }
.state { font-weight: 600; }
.state.succeeded { color: var(--ok); }
.state.failed, .state.abandoned, .error { color: var(--bad); }
.state.running, .state.skipped, .state.duplicate, .running { color: var(--warn); }
`;

function alertsSection(status: FleetStatus): string {
  const { alerts } = status;
  const evaluated = alerts.evaluatedAt ? `evaluated ${time(alerts.evaluatedAt)}` : 'not evaluated yet';
  const error = alerts.error ? `<p class="error">${escapeHtml(alerts.error)}</p>` : '';
  if (alerts.firing.length === 0) {
    return `<h2 id="alerts">Alerts</h2>\n<p class="meta">None firing (${evaluated}).</p>\n${error}`;
  }
  const rows = alerts.firing
    .map(
      (verdict) =>
        `<tr><td class="error">${escapeHtml(verdict.alertId)}</td><td>${escapeHtml(verdict.severity)}</td><td>${escapeHtml(verdict.subject)}</td><td>${escapeHtml(verdict.detail)}</td></tr>`,
    )
    .join('\n');
  return `<h2 id="alerts">Alerts firing</h2>
<p class="meta">${evaluated}; the same rules as the Cloud Monitoring policies (docs/signals.md).</p>
${error}
<table>
<thead><tr><th>alert</th><th>severity</th><th>subject</th><th>detail</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
}

export function renderStatusPage(status: FleetStatus): string {
  const now = new Date(status.generatedAt);
  const functions = Object.entries(status.urls.functions)
    .map(
      ([id, url]) =>
        `<li><a href="#${escapeHtml(id)}">${escapeHtml(id)}</a> <code>${escapeHtml(url)}</code></li>`,
    )
    .join('\n');
  const ledgerError = status.ledgerError ? `<p class="error">${escapeHtml(status.ledgerError)}</p>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${REFRESH_SECONDS}">
<title>enx-jobs local fleet</title>
<style>${STYLE}</style>
</head>
<body>
<h1>enx-jobs local fleet</h1>
<p class="meta">Generated ${time(status.generatedAt)}; up ${escapeHtml(durationLabel(Math.round(status.uptimeMs / 1000) * 1000))}; refreshes every ${REFRESH_SECONDS} s. JSON: <a href="/status">/status</a>.</p>
${ledgerError}
${alertsSection(status)}
<dl>
  <dt>database</dt><dd><code>${escapeHtml(status.urls.database)}</code></dd>
  <dt>token issuer</dt><dd><code>${escapeHtml(status.urls.issuer)}</code></dd>
  <dt>function logs</dt><dd><code>${escapeHtml(status.files.functionLog)}</code></dd>
  <dt>caught mail</dt><dd><a href="/mail">/mail</a> (what the emailers sent to the local SMTP catcher)</dd>
  <dt>functions</dt><dd><ul>${functions}</ul></dd>
</dl>
${status.jobs.map((job) => jobSection(job, now)).join('\n')}
</body>
</html>
`;
}
