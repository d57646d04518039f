/**
 * The per-step metrics the jobs write (cleanup rows, e2e step latency, modeler anomalies) are
 * charted on the dashboard, after every job's own section, and only for the jobs a deployment runs.
 */
import { catalog } from '../../functions/catalog';
import type { JobSpec } from '../../functions/core/job-spec';
import { METRICS } from '../../functions/alerts/metrics';
import { ALERT_RULES } from '../../functions/alerts/rules';
import { MAX_WIDGETS_PER_DASHBOARD, dashboardPages } from '../../infra/constructs/dashboard';

const STEP_METRICS = [METRICS.cleanupRows, METRICS.e2eStepLatency, METRICS.modelerAnomalies];

function widgets(jobs: readonly JobSpec[]) {
  return dashboardPages('production', 'enx-test-project', jobs, ALERT_RULES).flatMap((page) =>
    page.mosaicLayout.tiles.map((tile) => tile.widget as { title: string; xyChart?: unknown }),
  );
}

const chartsOf = (jobs: readonly JobSpec[], type: string) =>
  widgets(jobs).filter((widget) =>
    JSON.stringify(widget.xyChart ?? {}).includes(`metric.type=\\"${type}\\"`),
  );

describe('per-step metrics on the dashboard', () => {
  it('charts each per-step metric once, split by step', () => {
    for (const metric of STEP_METRICS) {
      const charts = chartsOf(catalog, metric.type);
      expect([metric.type, charts.length]).toEqual([metric.type, 1]);
      if (metric.labels.length > 0) expect(JSON.stringify(charts[0])).toContain('metric.label.step');
    }
  });

  it('puts them after every job section, on one page with the full catalog', () => {
    const pages = dashboardPages('production', 'enx-test-project', catalog, ALERT_RULES);
    expect(pages).toHaveLength(1);
    expect(pages[0].mosaicLayout.tiles.length).toBeLessThanOrEqual(MAX_WIDGETS_PER_DASHBOARD);
    const titles = widgets(catalog).map((widget) => widget.title);
    const lastJobLogs = titles.indexOf(`Logs of ${catalog[catalog.length - 1].id}`);
    expect(titles.indexOf('Per-step metrics')).toBeGreaterThan(lastJobLogs);
  });

  it('leaves out the chart of a job the deployment does not run, and the section when none runs', () => {
    const withoutCleanup = catalog.filter((job) => job.id !== 'cleanup-worker');
    expect(chartsOf(withoutCleanup, METRICS.cleanupRows.type)).toHaveLength(0);
    expect(chartsOf(withoutCleanup, METRICS.modelerAnomalies.type)).toHaveLength(1);
    const watchdogOnly = catalog.filter((job) => job.id === 'fleet-watchdog');
    expect(widgets(watchdogOnly).map((widget) => widget.title)).not.toContain('Per-step metrics');
  });
});
