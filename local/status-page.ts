/**
 * The status page: the same FleetStatus as /status, as small HTML pages (no framework, no script),
 * refreshed by the browser every 10 seconds. `/` is the fleet at a glance, in the manner of
 * healthchecks.io and Sentry Crons: firing alerts on top with their runbooks, then one row per job
 * with its state, last success, next tick, forward progress against its alert window and its last
 * 24 hours of ticks; "run now" and "pause/resume" post to the status server, which acts through the
 * Cloud Scheduler API. `/jobs/<id>` holds the details: attempts, ticks and recent log lines.
 */
import { formatDurationMs } from '../functions/core/duration';
import { ALERT_RULES } from '../functions/alerts/rules';
import { durationLabel, summariseResult } from './console-lines';
import type { TimelineSlot } from './job-health';
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

const STYLE = `
:root { color-scheme: light; --muted: #6b7280; --ok: #15803d; --bad: #b91c1c; --warn: #b45309; --late: #c2410c;
  --paused: #6b7280; --run: #1d4ed8; --line: #e5e7eb; --dup: #7c3aed; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1rem auto; max-width: 84rem; padding: 0 1rem; }
h1 { font-size: 1.3rem; margin: 0 0 .2rem; }
h2 { font-size: 1.05rem; margin: .9rem 0 .2rem; }
code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, monospace; }
a { color: #1d4ed8; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .6rem 0; }
dt { color: var(--muted); }
dd { margin: 0; }
table { border-collapse: collapse; width: 100%; margin-top: .4rem; }
th, td { text-align: left; padding: .28rem .45rem; border-bottom: 1px solid var(--line); vertical-align: middle; }
table.jobs td { white-space: nowrap; padding: .22rem .45rem; }
table.jobs th { white-space: nowrap; }
th { font-weight: 600; color: var(--muted); font-size: 12.5px; }
td.num { text-align: right; white-space: nowrap; }
.muted, .meta { color: var(--muted); }
.state { font-weight: 600; }
.state.succeeded { color: var(--ok); }
.state.failed, .state.abandoned, .error { color: var(--bad); }
.state.running, .state.skipped, .state.duplicate, .running { color: var(--warn); }
.alerts { display: flex; flex-wrap: wrap; gap: .3rem .5rem; margin: .5rem 0; padding: .45rem .6rem; border-radius: 6px;
  background: #fef2f2; border: 1px solid #fecaca; }
.alerts.quiet { background: #f0fdf4; border-color: #bbf7d0; color: var(--ok); }
.alert { white-space: nowrap; }
.alert b { color: var(--bad); }
.health { display: inline-block; min-width: 5.2rem; text-align: center; border-radius: 999px; padding: .05rem .5rem;
  font-size: 12px; font-weight: 600; color: #fff; }
.health.healthy { background: var(--ok); } .health.failing { background: var(--bad); } .health.late { background: var(--late); }
.health.paused { background: var(--paused); } .health.never-ran { background: #9ca3af; }
.bar { width: 110px; height: 8px; background: var(--line); border-radius: 4px; overflow: hidden; display: inline-block; vertical-align: middle; }
.bar > span { display: block; height: 100%; background: var(--ok); }
.bar.warn > span { background: var(--warn); } .bar.over > span { background: var(--bad); }
.timeline { display: flex; gap: 1px; height: 18px; align-items: stretch; }
.slot { width: 4px; background: #f3f4f6; position: relative; }
.slot.succeeded { background: #86efac; } .slot.retried { background: var(--warn); } .slot.failed { background: var(--bad); }
.slot.running { background: var(--run); } .slot.skipped { background: #fcd34d; }
.slot.dup::after { content: ""; position: absolute; left: 0; right: 0; top: 0; height: 4px; background: var(--dup); }
.legend span { display: inline-block; width: 9px; height: 9px; margin: 0 .2rem 0 .6rem; vertical-align: middle; }
form { display: inline; margin: 0; }
button { font: inherit; font-size: 12px; padding: .1rem .45rem; border: 1px solid #d1d5db; border-radius: 4px; background: #fff; cursor: pointer; }
td.job a { font-weight: 600; text-decoration: none; }
`;

const HEALTH_CLASS: Record<string, string> = { 'never ran': 'never-ran' };

function ago(value: string | null, now: Date): string {
  if (!value) return '–';
  const ms = now.getTime() - new Date(value).getTime();
  return `${durationLabel(Math.max(0, Math.round(ms / 1000) * 1000))} ago`;
}

function runbookLink(alertId: string): string {
  const rule = ALERT_RULES.find((candidate) => candidate.id === alertId);
  if (!rule) return '';
  return `<a href="/${escapeHtml(rule.runbook.replace(/^docs\//, ''))}">runbook</a>`;
}

function alertsStrip(status: FleetStatus): string {
  const { alerts } = status;
  const evaluated = alerts.evaluatedAt ? `evaluated ${time(alerts.evaluatedAt)}` : 'not evaluated yet';
  const error = alerts.error ? `<p class="error">${escapeHtml(alerts.error)}</p>` : '';
  if (alerts.firing.length === 0) {
    return `<h2 id="alerts">Alerts</h2>\n<div class="alerts quiet">None firing (${evaluated}).</div>\n${error}`;
  }
  const chips = alerts.firing
    .map(
      (verdict) =>
        `<span class="alert" title="${escapeHtml(verdict.detail)}"><b>${escapeHtml(verdict.alertId)}</b> ${escapeHtml(
          verdict.subject,
        )} <span class="muted">${escapeHtml(verdict.severity.toLowerCase())}</span> ${runbookLink(verdict.alertId)}</span>`,
    )
    .join('\n');
  return `<h2 id="alerts">Alerts firing (${alerts.firing.length})</h2>
<div class="alerts">${chips}</div>
<p class="meta">${evaluated}; the same rules as the Cloud Monitoring policies (docs/signals.md).</p>
${error}`;
}

function progressBar(job: JobStatus): string {
  const percent = Math.min(100, Math.round(job.progress * 100));
  const level = job.progress > 1 ? 'over' : job.progress > 0.75 ? 'warn' : '';
  return `<span class="bar ${level}" title="${percent}% of the ${escapeHtml(formatDurationMs(job.windowMs))} window since the last success"><span style="width:${percent}%"></span></span> <span class="muted">${escapeHtml(formatDurationMs(job.windowMs))}</span>`;
}

function slotTitle(slot: TimelineSlot): string {
  const from = slot.startAt.slice(11, 16);
  if (slot.ticks === 0) return `${from}Z: no tick`;
  const parts = [`${slot.ticks} tick(s)`];
  if (slot.failed) parts.push(`${slot.failed} failed`);
  if (slot.retried) parts.push(`${slot.retried} retried`);
  if (slot.nonRuns) parts.push(`${slot.nonRuns} duplicate/skipped answer(s)`);
  return `${from}Z: ${parts.join(', ')}`;
}

function timeline(job: JobStatus): string {
  const slots = job.timeline
    .map(
      (slot) =>
        `<span class="slot ${slot.outcome}${slot.nonRuns > 0 ? ' dup' : ''}" title="${escapeHtml(slotTitle(slot))}"></span>`,
    )
    .join('');
  return `<div class="timeline" aria-label="last 24 hours of ${escapeHtml(job.id)}">${slots}</div>`;
}

function actions(job: JobStatus, enabled: boolean): string {
  if (!enabled) return '';
  const post = (action: string, label: string) =>
    `<form method="post" action="/jobs/${escapeHtml(job.id)}/${action}"><button type="submit" name="action" value="${action}">${label}</button></form>`;
  return `${post('run', 'run now')} ${job.paused ? post('resume', 'resume') : post('pause', 'pause')}`;
}

function jobRow(job: JobStatus, now: Date, withActions: boolean): string {
  const running = job.scheduler.inFlight
    ? ` <span class="running" title="attempt ${job.scheduler.inFlight.attempt} running">●</span>`
    : '';
  return `<tr data-job="${escapeHtml(job.id)}">
  <td class="job"><a href="/jobs/${escapeHtml(job.id)}" title="${escapeHtml(job.description)}">${escapeHtml(job.id)}</a>${running}</td>
  <td><span class="health ${HEALTH_CLASS[job.health] ?? job.health}">${escapeHtml(job.health)}</span></td>
  <td class="last-success">${job.lastSuccessAt ? `<span title="${escapeHtml(job.lastSuccessAt)}">${escapeHtml(ago(job.lastSuccessAt, now))}</span>` : '<span class="muted">never</span>'}</td>
  <td class="next-tick">${job.paused ? '<span class="muted">paused</span>' : job.nextScheduledAt ? `<span title="${escapeHtml(job.nextScheduledAt)}">${escapeHtml(inFromNow(job.nextScheduledAt, now).replace(/^ \(|\)$/g, '') || 'now')}</span>` : '–'}</td>
  <td class="progress">${progressBar(job)}</td>
  <td>${timeline(job)}</td>
  <td class="actions">${actions(job, withActions)}</td>
</tr>`;
}

export interface PageOptions {
  /** Show "run now" and "pause/resume" (the server can act through the Scheduler API). */
  readonly actions: boolean;
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${REFRESH_SECONDS}">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

export function renderStatusPage(status: FleetStatus, options: PageOptions = { actions: false }): string {
  const now = new Date(status.generatedAt);
  const ledgerError = status.ledgerError ? `<p class="error">${escapeHtml(status.ledgerError)}</p>` : '';
  const rows = status.jobs.map((job) => jobRow(job, now, options.actions)).join('\n');
  return page(
    'enx-jobs local fleet',
    `<h1>enx-jobs local fleet</h1>
<p class="meta">Generated ${time(status.generatedAt)}; up ${escapeHtml(durationLabel(Math.round(status.uptimeMs / 1000) * 1000))}; refreshes every ${REFRESH_SECONDS} s. JSON: <a href="/status">/status</a> · caught mail: <a href="/mail">/mail</a> · logs: <code>${escapeHtml(status.files.functionLog)}</code></p>
${ledgerError}
${alertsStrip(status)}
<h2 id="jobs">Jobs</h2>
<table class="jobs">
<thead><tr><th>job</th><th>state</th><th>last success</th><th>next tick</th><th>progress / window</th><th>last 24 h (15-minute slots, oldest left)</th><th></th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
<p class="meta legend">Timeline:<span style="background:#86efac"></span>succeeded<span style="background:var(--warn)"></span>succeeded after retries<span style="background:var(--bad)"></span>failed<span style="background:var(--run)"></span>running<span style="background:#fcd34d"></span>skipped<span style="background:var(--dup)"></span>duplicate or skipped answers (top mark)</p>`,
  );
}

function ticksTable(job: JobStatus): string {
  if (job.lastTicks.length === 0) return '<p class="muted">No ticks recorded yet.</p>';
  const rows = job.lastTicks
    .map(
      (tick) =>
        `<tr><td><code>${escapeHtml(tick.tickId)}</code>${tick.manual ? ' (manual)' : ''}</td><td><span class="state ${escapeHtml(tick.state)}">${escapeHtml(tick.state)}</span></td><td class="num">${tick.attempts}</td><td>${tick.lastError ? `<span class="error">${escapeHtml(tick.lastError)}</span>` : ''}</td></tr>`,
    )
    .join('\n');
  return `<table class="ticks"><thead><tr><th>tick</th><th>state</th><th>tries</th><th>last error</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** One job's details: settings, attempts, ticks and its recent log lines. */
export function renderJobPage(
  status: FleetStatus,
  jobId: string,
  logLines: readonly string[],
  options: PageOptions,
): string | undefined {
  const job = status.jobs.find((candidate) => candidate.id === jobId);
  if (!job) return undefined;
  const now = new Date(status.generatedAt);
  const t = job.tallies;
  const logs =
    logLines.length === 0
      ? '<p class="muted">No log lines yet.</p>'
      : `<pre class="logs">${logLines.map(escapeHtml).join('\n')}</pre>`;
  return page(
    `${job.id}: enx-jobs local fleet`,
    `<p><a href="/">← fleet</a></p>
<h1 id="${escapeHtml(job.id)}">${escapeHtml(job.id)} <span class="health ${HEALTH_CLASS[job.health] ?? job.health}">${escapeHtml(job.health)}</span></h1>
<p>${escapeHtml(job.description)}</p>
<p>${actions(job, options.actions)}</p>
<dl>
  <dt>schedule</dt><dd><code>${escapeHtml(job.cron)}</code> ${escapeHtml(job.timeZone)}${job.paused ? ' (paused)' : ''}</dd>
  <dt>next tick</dt><dd>${time(job.nextScheduledAt)}${escapeHtml(inFromNow(job.nextScheduledAt, now))}</dd>
  <dt>last success</dt><dd>${time(job.lastSuccessAt)}; alert window ${escapeHtml(formatDurationMs(job.windowMs))}</dd>
  <dt>limits</dt><dd>timeout ${escapeHtml(formatDurationMs(job.timeoutMs))}, attempt deadline ${escapeHtml(formatDurationMs(job.attemptDeadlineMs))}, ${job.retry.retryCount} retries</dd>
  <dt>counters</dt><dd>${t.succeeded} succeeded, ${t.failed} failed, ${t.skipped} skipped, ${t.exhausted} exhausted${t.countingSince ? ` since ${time(t.countingSince)}` : ''}</dd>
  <dt>function</dt><dd><code>${escapeHtml(job.httpMethod)} ${escapeHtml(job.url)}</code></dd>
  <dt>from a shell</dt><dd><code>npm run jobs -- --local triage ${escapeHtml(job.id)}</code> · <code>npm run jobs -- --local logs ${escapeHtml(job.id)} --follow</code></dd>
</dl>
<h2>Attempts</h2>
${attemptsTable(job)}
<h2>Ticks</h2>
${ticksTable(job)}
<h2>Log</h2>
${logs}`,
  );
}
