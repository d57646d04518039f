/**
 * The triage dashboard: a fleet section (every job's forward progress, failures, idleness and
 * warnings), then one collapsible group per job of the catalog with its heartbeats, attempts by
 * outcome, attempt duration, forward-progress ratio and its logs (the job's Logs Explorer query
 * in a logs panel), and last the per-step metrics the jobs write themselves (cleanup rows per step,
 * e2e latency per step, modeler anomalies). Provider 6.50.0 has no saved Logs Explorer query
 * resource; the logs panels and the stack outputs carry the queries instead.
 *
 * A dashboard holds at most 100 widgets (Cloud Monitoring's limit since May 2025), so a large
 * catalog spills over into further pages.
 */
import { Construct } from 'constructs';
import type { ITerraformDependable } from 'cdktf';
import { MonitoringDashboard } from '@cdktf/provider-google/lib/monitoring-dashboard';
import {
  cleanupWorker,
  e2eDefault,
  e2eRedirect,
  e2eRevise,
  e2eUserReport,
  modelerWorker,
} from '../../functions/catalog';
import type { JobSpec } from '../../functions/core/job-spec';
import { METRICS, SCHEDULER_FAILED_ATTEMPTS } from '../../functions/alerts/metrics';
import { schedulerFailedAttemptsFilter } from '../../functions/alerts/log-filters';
import type { AlertRule } from '../../functions/alerts/rules';
import { JOB_LABEL, metricFilter } from '../alert-conditions';
import { FLEET_LOG_QUERY, jobLogQuery, terraformLiteral } from '../naming';

export const MAX_WIDGETS_PER_DASHBOARD = 100;
const COLUMNS = 48;
const ROW_HEIGHT = 16;

type Widget = Record<string, unknown>;
/** xPos and yPos are left out at 0: the API drops them, and every plan would diff (provider #16173). */
interface Tile {
  readonly xPos?: number;
  readonly yPos?: number;
  readonly width: number;
  readonly height: number;
  readonly widget: Widget;
}

interface Aggregation {
  readonly alignmentPeriod: string;
  readonly perSeriesAligner: string;
  readonly crossSeriesReducer?: string;
  readonly groupByFields?: readonly string[];
}

function chart(
  title: string,
  filter: string,
  aggregation: Aggregation,
  options: { plotType?: 'LINE' | 'STACKED_BAR'; threshold?: number; unit?: string } = {},
): Widget {
  return {
    title,
    xyChart: {
      dataSets: [
        {
          timeSeriesQuery: { timeSeriesFilter: { filter, aggregation } },
          plotType: options.plotType ?? 'LINE',
        },
      ],
      ...(options.threshold !== undefined ? { thresholds: [{ value: options.threshold }] } : {}),
      // Only non-default values: the API drops defaults, and Terraform would then see a diff forever.
      yAxis: { scale: 'LINEAR', ...(options.unit ? { label: options.unit } : {}) },
    },
  };
}

function logsPanel(title: string, filter: string, projectId: string): Widget {
  return { title, logsPanel: { filter, resourceNames: [`projects/${projectId}`] } };
}

function group(title: string): Widget {
  return { title, collapsibleGroup: {} };
}

function tile(x: number, y: number, width: number, height: number, widget: Widget): Tile {
  return { ...(x === 0 ? {} : { xPos: x }), ...(y === 0 ? {} : { yPos: y }), width, height, widget };
}

/** Four charts in a row, the logs under them, and the group spanning both. */
function section(title: string, charts: readonly Widget[], logs: Widget, y: number): Tile[] {
  const width = COLUMNS / charts.length;
  return [
    tile(0, y, COLUMNS, 2 * ROW_HEIGHT, group(title)),
    ...charts.map((widget, index) => tile(index * width, y, width, ROW_HEIGHT, widget)),
    tile(0, y + ROW_HEIGHT, COLUMNS, ROW_HEIGHT, logs),
  ];
}

function forJob(id: string): string[] {
  return [`${JOB_LABEL}="${id}"`];
}

function fleetSection(projectId: string, rules: readonly AlertRule[]): Widget[] {
  const stalled = rules.find((rule) => rule.condition.kind === 'stalled')?.condition;
  const byJob = { crossSeriesReducer: 'REDUCE_MAX', groupByFields: [JOB_LABEL] };
  return [
    chart(
      'Forward progress by job (alerts above 1)',
      metricFilter(METRICS.forwardProgress.type),
      { alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_MAX', ...byJob },
      { threshold: 1 },
    ),
    chart(
      'Failed attempts by job (5 min)',
      metricFilter(METRICS.attempts.type, ['metric.label.outcome="failed"']),
      {
        alignmentPeriod: '300s',
        perSeriesAligner: 'ALIGN_DELTA',
        crossSeriesReducer: 'REDUCE_SUM',
        groupByFields: [JOB_LABEL],
      },
      { plotType: 'STACKED_BAR' },
    ),
    chart(
      'Exhausted ticks by job (10 min)',
      metricFilter(METRICS.exhaustedTicks.type),
      {
        alignmentPeriod: '600s',
        perSeriesAligner: 'ALIGN_DELTA',
        crossSeriesReducer: 'REDUCE_SUM',
        groupByFields: [JOB_LABEL],
      },
      { plotType: 'STACKED_BAR' },
    ),
    chart(
      'Seconds since any job finished an attempt',
      metricFilter(METRICS.fleetIdle.type),
      { alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_MAX', crossSeriesReducer: 'REDUCE_MAX' },
      { unit: 's', ...(stalled?.kind === 'stalled' ? { threshold: stalled.idleMs / 1000 } : {}) },
    ),
    logsPanel('Warnings of every job', FLEET_LOG_QUERY, projectId),
  ];
}

/**
 * What fails before a job runs, so a fleet that never worked shows it too: Cloud Scheduler's
 * failed attempts (the log-based metric, by job and status) and the runtime's refusals by reason.
 */
function neverSilentSection(projectId: string): Widget[] {
  const delta = {
    alignmentPeriod: '300s',
    perSeriesAligner: 'ALIGN_DELTA',
    crossSeriesReducer: 'REDUCE_SUM',
  };
  return [
    chart(
      'Failed scheduler attempts by job and status (5 min)',
      [
        `metric.type="${SCHEDULER_FAILED_ATTEMPTS.type}"`,
        `resource.type="${SCHEDULER_FAILED_ATTEMPTS.resourceType}"`,
      ].join(' AND '),
      { ...delta, groupByFields: ['metric.label.job', 'metric.label.status'] },
      { plotType: 'STACKED_BAR' },
    ),
    chart(
      'Refused requests by reason (5 min)',
      metricFilter(METRICS.refusedRequests.type),
      { ...delta, groupByFields: ['metric.label.reason'] },
      { plotType: 'STACKED_BAR' },
    ),
    chart(
      'Refused requests by job (5 min)',
      metricFilter(METRICS.refusedRequests.type),
      { ...delta, groupByFields: [JOB_LABEL] },
      { plotType: 'STACKED_BAR' },
    ),
    logsPanel('Failed scheduler attempts', schedulerFailedAttemptsFilter(), projectId),
  ];
}

function jobSection(spec: JobSpec, projectId: string): Widget[] {
  const id = spec.id;
  return [
    chart(
      'Successes (heartbeats per 5 min)',
      metricFilter(METRICS.heartbeat.type, forJob(id)),
      { alignmentPeriod: '300s', perSeriesAligner: 'ALIGN_SUM', crossSeriesReducer: 'REDUCE_SUM' },
      { plotType: 'STACKED_BAR' },
    ),
    chart(
      'Attempts by outcome (per 5 min)',
      metricFilter(METRICS.attempts.type, forJob(id)),
      {
        alignmentPeriod: '300s',
        perSeriesAligner: 'ALIGN_DELTA',
        crossSeriesReducer: 'REDUCE_SUM',
        groupByFields: ['metric.label.outcome'],
      },
      { plotType: 'STACKED_BAR' },
    ),
    chart(
      'Attempt duration by outcome',
      metricFilter(METRICS.attemptDuration.type, forJob(id)),
      {
        alignmentPeriod: '60s',
        perSeriesAligner: 'ALIGN_MAX',
        crossSeriesReducer: 'REDUCE_MAX',
        groupByFields: ['metric.label.outcome'],
      },
      { unit: 's', threshold: spec.timeoutMs / 1000 },
    ),
    chart(
      'Forward progress (alerts above 1)',
      metricFilter(METRICS.forwardProgress.type, forJob(id)),
      { alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_MAX', crossSeriesReducer: 'REDUCE_MAX' },
      { threshold: 1 },
    ),
    logsPanel(`Logs of ${id}`, jobLogQuery(id), projectId),
  ];
}

/** The jobs that write per-step metrics, and the chart of each (functions/core/step-metrics.ts). */
const STEP_CHARTS: readonly { readonly jobs: readonly string[]; readonly widget: () => Widget }[] = [
  {
    jobs: [cleanupWorker.id],
    widget: () =>
      chart(
        'cleanup-worker: rows removed per step (last run)',
        metricFilter(METRICS.cleanupRows.type),
        {
          alignmentPeriod: '300s',
          perSeriesAligner: 'ALIGN_MAX',
          crossSeriesReducer: 'REDUCE_MAX',
          groupByFields: ['metric.label.step'],
        },
        { plotType: 'STACKED_BAR' },
      ),
  },
  {
    jobs: [e2eDefault.id, e2eRevise.id, e2eRedirect.id, e2eUserReport.id],
    widget: () =>
      chart(
        'e2e probes: latency per step (last run)',
        metricFilter(METRICS.e2eStepLatency.type),
        {
          alignmentPeriod: '300s',
          perSeriesAligner: 'ALIGN_MAX',
          crossSeriesReducer: 'REDUCE_MAX',
          groupByFields: [JOB_LABEL, 'metric.label.step'],
        },
        { unit: 'ms' },
      ),
  },
  {
    jobs: [modelerWorker.id],
    widget: () =>
      chart('modeler-worker: realms with a code-claim anomaly', metricFilter(METRICS.modelerAnomalies.type), {
        alignmentPeriod: '3600s',
        perSeriesAligner: 'ALIGN_MAX',
        crossSeriesReducer: 'REDUCE_MAX',
      }),
  },
];

/** What the steps themselves report in the log: backlogs, anomalies, probe leftovers. */
const STEP_EVENTS_QUERY = [
  'resource.type="cloud_run_revision"',
  'jsonPayload.event=("cleanup_backlog" OR "codes_claimed_ratio_anomaly" OR "e2e_leftovers_removed")',
].join('\n');

/** The per-step charts of the deployed jobs, then the step events; nothing when none is deployed. */
function stepMetricsSection(projectId: string, jobs: readonly JobSpec[]): Widget[] {
  const deployed = new Set(jobs.map((spec) => spec.id));
  const charts = STEP_CHARTS.filter((entry) => entry.jobs.some((id) => deployed.has(id))).map((entry) =>
    entry.widget(),
  );
  if (charts.length === 0) return [];
  return [
    ...charts,
    logsPanel('Step events: backlogs, anomalies, probe leftovers', STEP_EVENTS_QUERY, projectId),
  ];
}

export interface DashboardPage {
  readonly displayName: string;
  readonly mosaicLayout: { readonly columns: number; readonly tiles: readonly Tile[] };
}

/** The dashboards' JSON, split into pages of at most MAX_WIDGETS_PER_DASHBOARD widgets. */
export function dashboardPages(
  environment: string,
  projectId: string,
  jobs: readonly JobSpec[],
  rules: readonly AlertRule[],
): DashboardPage[] {
  const sections: { title: string; widgets: Widget[] }[] = [
    { title: `Fleet (${jobs.length} jobs)`, widgets: fleetSection(projectId, rules) },
    { title: 'Before a job runs: scheduler failures and refusals', widgets: neverSilentSection(projectId) },
    ...jobs.map((spec) => ({
      title: `${spec.id}: ${spec.schedule.cron} (${spec.schedule.timeZone})`,
      widgets: jobSection(spec, projectId),
    })),
    { title: 'Per-step metrics', widgets: stepMetricsSection(projectId, jobs) },
  ].filter((entry) => entry.widgets.length > 0);
  const pages: Tile[][] = [];
  let tiles: Tile[] = [];
  for (const { title, widgets } of sections) {
    const logs = widgets[widgets.length - 1];
    if (tiles.length + widgets.length + 1 > MAX_WIDGETS_PER_DASHBOARD) {
      pages.push(tiles);
      tiles = [];
    }
    const y = tiles.reduce((bottom, tile) => Math.max(bottom, (tile.yPos ?? 0) + tile.height), 0);
    tiles.push(...section(title, widgets.slice(0, -1), logs, y));
  }
  pages.push(tiles);
  return pages.map((pageTiles, index) => ({
    displayName: `enx-jobs ${environment}${pages.length > 1 ? ` (${index + 1}/${pages.length})` : ''}`,
    mosaicLayout: { columns: COLUMNS, tiles: pageTiles },
  }));
}

export interface DashboardProps {
  readonly environment: string;
  readonly projectId: string;
  readonly jobs: readonly JobSpec[];
  readonly rules: readonly AlertRule[];
  readonly dependsOn: readonly ITerraformDependable[];
}

export class Dashboard extends Construct {
  readonly dashboards: readonly MonitoringDashboard[];

  constructor(scope: Construct, id: string, props: DashboardProps) {
    super(scope, id);
    this.dashboards = dashboardPages(props.environment, props.projectId, props.jobs, props.rules).map(
      (page, index) =>
        new MonitoringDashboard(this, `page-${index + 1}`, {
          dashboardJson: terraformLiteral(JSON.stringify(page)),
          dependsOn: [...props.dependsOn],
        }),
    );
  }
}
