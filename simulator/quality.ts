/**
 * The alert-quality table that ends a simulation's summary: how many incidents each alert opened
 * (never flapping: a sustained fault opens one) and how soon each fault was detected, by any alert
 * and by one that pages (never silent). The test of the quality targets reads the same numbers.
 */
import { ALERT_RULES, pages } from '../functions/alerts/rules';
import type { AlertId, Severity } from '../functions/alerts/rules';
import type { SimulationResult } from './engine';
import { describeFault, describeWindow } from './scenario';
import type { Fault } from './scenario';
import type { Transition } from './timeline';

export interface AlertIncidents {
  readonly alertId: AlertId;
  readonly severity: Severity;
  readonly pages: boolean;
  readonly incidents: number;
  /** The most incidents any one subject (job or fleet) opened: above 1 is flapping. */
  readonly mostPerSubject: number;
  readonly subjects: readonly string[];
}

export interface Detection {
  /** One line for the fault, or for a group of faults of one kind and window over several jobs. */
  readonly fault: string;
  readonly startMs: number;
  readonly firstAlert?: Transition;
  readonly firstPage?: Transition;
}

export interface AlertQuality {
  readonly alerts: readonly AlertIncidents[];
  readonly detections: readonly Detection[];
}

const fired = (result: SimulationResult) => result.transitions.filter((t) => t.kind === 'FIRED');

function incidents(result: SimulationResult): AlertIncidents[] {
  return ALERT_RULES.map((rule) => {
    const mine = fired(result).filter((t) => t.alertId === rule.id);
    const perSubject = new Map<string, number>();
    for (const t of mine) perSubject.set(t.subject, (perSubject.get(t.subject) ?? 0) + 1);
    return {
      alertId: rule.id,
      severity: rule.severity,
      pages: pages(rule),
      incidents: mine.length,
      mostPerSubject: Math.max(0, ...perSubject.values()),
      subjects: [...perSubject.keys()],
    };
  });
}

const faultStart = (fault: Fault, startMs: number) =>
  'window' in fault ? Math.max(startMs, fault.window.fromMs) : startMs;

/** Faults of one kind and window over several jobs read as one fault of the fleet. */
function groups(
  result: SimulationResult,
): { fault: string; startMs: number; jobs: Set<string> | undefined }[] {
  const byKey = new Map<string, { fault: string; startMs: number; jobs: Set<string> | undefined }>();
  for (const fault of result.scenario.faults) {
    const window = 'window' in fault ? describeWindow(fault.window) : '';
    const key = `${fault.kind}|${window}`;
    const entry = byKey.get(key);
    if (entry && entry.jobs && 'jobId' in fault) {
      entry.jobs.add(fault.jobId);
      entry.fault = `${fault.kind} on ${entry.jobs.size} jobs ${window}`.trim();
      continue;
    }
    byKey.set(key, {
      fault: describeFault(fault),
      startMs: faultStart(fault, result.scenario.startMs),
      jobs: 'jobId' in fault ? new Set([fault.jobId]) : undefined,
    });
  }
  return [...byKey.values()];
}

export function alertQuality(result: SimulationResult): AlertQuality {
  const severityOf = new Map(ALERT_RULES.map((rule) => [rule.id, rule]));
  const detections = groups(result).map(({ fault, startMs, jobs }) => {
    // A detection names one of the fault's jobs, or the fleet; a fleet-wide fault matches any.
    const relevant = fired(result).filter(
      (t) => t.atMs >= startMs && (jobs === undefined || t.subject === 'fleet' || jobs.has(t.subject)),
    );
    const paging = relevant.filter((t) => {
      const rule = severityOf.get(t.alertId);
      return rule !== undefined && pages(rule);
    });
    return { fault, startMs, firstAlert: relevant[0], firstPage: paging[0] };
  });
  return { alerts: incidents(result), detections };
}

const after = (transition: Transition | undefined, startMs: number) => {
  if (!transition) return 'none';
  const minutes = (transition.atMs - startMs) / 60_000;
  return `${transition.alertId} (${transition.subject}) after ${minutes.toFixed(1)} min`;
};

export function formatAlertQuality(quality: AlertQuality): string {
  const lines = ['Alert quality:', '  alert                   severity  pages  incidents  most per subject'];
  for (const row of quality.alerts) {
    lines.push(
      `  ${row.alertId.padEnd(23)} ${row.severity.padEnd(9)} ${(row.pages ? 'yes' : 'no').padEnd(6)} ${String(row.incidents).padStart(9)}  ${String(row.mostPerSubject).padStart(16)}`,
    );
  }
  lines.push('', 'Time to first detection:');
  if (quality.detections.length === 0) lines.push('  no fault injected');
  for (const detection of quality.detections) {
    lines.push(`  ${detection.fault}`);
    lines.push(`    first alert: ${after(detection.firstAlert, detection.startMs)}`);
    lines.push(
      `    first page:  ${after(detection.firstPage, detection.startMs)}${detection.firstPage ? `: ${detection.firstPage.detail}` : ''}`,
    );
  }
  return lines.join('\n');
}
