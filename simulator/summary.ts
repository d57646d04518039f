/**
 * The closing summary of a run: what the scheduler sent each job and what came back, which alerts
 * fired, which are still open, and what the run cost. The numbers are the scheduler's view (one
 * per request), so they can be checked against the timeline above them.
 */
import type { SimulationResult } from './engine';
import { describeFault } from './scenario';
import { formatInstant } from './timeline';
import { alertQuality, formatAlertQuality } from './quality';

export interface JobCounts {
  requests: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  /** Answers that ran nothing: the tick had succeeded already, or was running. */
  duplicate: number;
  /** Another tick of the job was still running. */
  skipped: number;
  other: number;
  exhausted: number;
  /** Requests the faults kept from being sent (outages, never deployed). */
  notSent: number;
}

const emptyCounts = (): JobCounts => ({
  requests: 0,
  succeeded: 0,
  failed: 0,
  timedOut: 0,
  duplicate: 0,
  skipped: 0,
  other: 0,
  exhausted: 0,
  notSent: 0,
});

export function countsByJob(result: SimulationResult): Map<string, JobCounts> {
  const counts = new Map(result.jobs.map((job) => [job.id, emptyCounts()]));
  for (const request of result.requests) {
    const row = counts.get(request.jobId) ?? emptyCounts();
    row.requests += 1;
    if (request.exhausted) row.exhausted += 1;
    if (request.answer === 'succeeded') row.succeeded += 1;
    else if (request.answer === 'failed' && request.status === 504) row.timedOut += 1;
    else if (request.answer === 'failed') row.failed += 1;
    else if (request.answer === 'duplicate' || request.answer === 'in_progress') row.duplicate += 1;
    else if (request.answer === 'skipped') row.skipped += 1;
    else row.other += 1;
    counts.set(request.jobId, row);
  }
  for (const drop of result.dropped) {
    const row = counts.get(drop.jobId) ?? emptyCounts();
    row.notSent += 1;
    counts.set(drop.jobId, row);
  }
  return counts;
}

const COLUMNS: [keyof JobCounts, string][] = [
  ['requests', 'requests'],
  ['succeeded', 'succeeded'],
  ['failed', 'failed'],
  ['timedOut', 'timed out'],
  ['duplicate', 'duplicate'],
  ['skipped', 'skipped'],
  ['other', 'other'],
  ['exhausted', 'exhausted'],
  ['notSent', 'not sent'],
];

export function formatSummary(result: SimulationResult): string {
  const { scenario, stats } = result;
  const lines: string[] = [];
  const days = (scenario.endMs - scenario.startMs) / 86_400_000;
  lines.push(
    `Simulated ${Number(days.toFixed(3))} day(s), ${formatInstant(scenario.startMs)} to ${formatInstant(scenario.endMs)}, seed ${scenario.seed}.`,
  );
  lines.push(
    scenario.faults.length === 0
      ? 'Faults: none.'
      : `Faults:\n${scenario.faults.map((fault) => `  ${describeFault(fault)}`).join('\n')}`,
  );

  const width = Math.max(14, ...result.jobs.map((job) => job.id.length));
  lines.push('', 'Requests per job, by answer:');
  lines.push(`  ${'job'.padEnd(width)}  ${COLUMNS.map(([, title]) => title.padStart(9)).join(' ')}`);
  for (const [jobId, row] of countsByJob(result)) {
    lines.push(`  ${jobId.padEnd(width)}  ${COLUMNS.map(([key]) => String(row[key]).padStart(9)).join(' ')}`);
  }
  if (result.retriesCutByNextTick > 0) {
    lines.push(`  ${result.retriesCutByNextTick} tick(s) stopped retrying because the next tick was due.`);
  }

  const fired = new Map<string, number>();
  for (const transition of result.transitions) {
    if (transition.kind !== 'FIRED') continue;
    const key = `${transition.alertId} (${transition.subject})`;
    fired.set(key, (fired.get(key) ?? 0) + 1);
  }
  lines.push('', 'Alerts fired:');
  if (fired.size === 0) lines.push('  none');
  for (const [key, count] of fired) lines.push(`  ${key}: ${count} time(s)`);
  const open = result.tracker.stillFiring();
  lines.push('', 'Still firing at the end:');
  if (open.length === 0) lines.push('  none');
  for (const verdict of open) lines.push(`  ${verdict.alertId} (${verdict.subject}): ${verdict.detail}`);

  lines.push(
    '',
    `Cost: ${(stats.wallMs / 1000).toFixed(1)} s of wall time for ${result.requests.length} requests ` +
      `(${stats.ticks} ticks) and ${stats.evaluations} evaluations, ${stats.databaseSnapshots} of them read from the database.`,
  );
  lines.push('', formatAlertQuality(alertQuality(result)));
  return lines.join('\n');
}
