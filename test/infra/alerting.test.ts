import { catalog, fleetWatchdog } from '../../functions/catalog';
import type { JobSpec } from '../../functions/core/job-spec';
import { METRICS } from '../../functions/alerts/metrics';
import { ALERT_RULES } from '../../functions/alerts/rules';
import { GOOGLE_LIMITS, jobTiming } from '../../functions/alerts/windows';
import { promQlMetricName, ratioQuery } from '../../infra/alert-conditions';
import {
  DOCUMENTATION_MAX_BYTES,
  DOCUMENTATION_MAX_CHARS,
  LINKS_MAX,
  SUBJECT_MAX_CHARS,
  policyDocumentation,
  readRunbook,
} from '../../infra/alert-documentation';
import { MAX_WIDGETS_PER_DASHBOARD, dashboardPages } from '../../infra/constructs/dashboard';
import type { Json } from './support';
import { removeScratch, resources, settingsFrom, synth } from './support';

const jobs = catalog as readonly JobSpec[];

/** Terraform's escape undone: what Cloud Monitoring receives. */
function unescaped(text: string): string {
  return text.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{');
}

afterAll(removeScratch);

describe('alerting', () => {
  let json: Json;
  beforeAll(() => {
    ({ json } = synth());
  });
  const policies = () => resources(json, 'google_monitoring_alert_policy');
  const policyOf = (id: string) => policies().find((policy) => policy.display_name === id) as Json;

  it('declares a descriptor for every custom metric', () => {
    const descriptors = resources(json, 'google_monitoring_metric_descriptor');
    expect(descriptors.map((d) => d.type).sort()).toEqual(
      Object.values(METRICS)
        .map((m) => m.type)
        .sort(),
    );
    for (const metric of Object.values(METRICS)) {
      expect(descriptors.find((d) => d.type === metric.type)).toMatchObject({
        metric_kind: metric.kind,
        value_type: metric.valueType,
        unit: metric.unit,
        description: metric.description,
      });
    }
  });

  it('has one policy per rule, each notifying at least one channel, after the descriptors exist', () => {
    expect(
      policies()
        .map((p) => p.display_name)
        .sort(),
    ).toEqual(ALERT_RULES.map((rule) => rule.id).sort());
    for (const policy of policies()) {
      expect(policy.notification_channels.length).toBeGreaterThanOrEqual(1);
      expect(policy.conditions.length).toBeGreaterThanOrEqual(1);
      expect(policy.conditions.length).toBeLessThanOrEqual(6);
      expect(policy.depends_on).toEqual(
        expect.arrayContaining([expect.stringMatching(/^google_monitoring_metric_descriptor\./)]),
      );
    }
    for (const rule of ALERT_RULES) {
      expect(policyOf(rule.id)).toMatchObject({
        severity: rule.severity,
        combiner: 'OR',
        user_labels: expect.objectContaining({ scope: rule.scope, environment: 'production' }),
      });
    }
  });

  it('documents every policy with its runbook, within Cloud Monitoring limits', () => {
    for (const rule of ALERT_RULES) {
      const documentation = policyOf(rule.id).documentation;
      const content = unescaped(documentation.content);
      expect(documentation.mime_type).toBe('text/markdown');
      expect(content.startsWith(readRunbook(rule))).toBe(true);
      expect(content.length).toBeLessThanOrEqual(DOCUMENTATION_MAX_CHARS);
      expect(Buffer.byteLength(content)).toBeLessThanOrEqual(DOCUMENTATION_MAX_BYTES);
      expect(unescaped(documentation.subject).length).toBeLessThanOrEqual(SUBJECT_MAX_CHARS);
      expect(documentation.links.length).toBeLessThanOrEqual(LINKS_MAX);
      for (const link of documentation.links) expect(link.display_name.length).toBeLessThanOrEqual(63);
    }
  });

  it("points per-job incidents at the failing job's logs through Cloud Monitoring's variable", () => {
    const documentation = policyOf('ForwardProgressFailed').documentation;
    // Escaped for Terraform, so Google receives ${resource.label.job} and fills it in.
    expect(documentation.subject).toContain('$${resource.label.job}');
    expect(documentation.links[0].url).toContain('service_name%3D%22$${resource.label.job}%22');
    for (const job of jobs) {
      expect(documentation.content).toContain(
        `| \`${job.id}\` | [Logs Explorer](https://console.cloud.google.com/logs/query;query=${encodeURIComponent(
          `resource.type="cloud_run_revision"\nresource.labels.service_name="${job.id}"`,
        )}?project=enx-test-project) |`,
      );
    }
  });

  it('turns ForwardProgressFailed into a per-job ratio threshold and the watchdog heartbeat absence', () => {
    const [late, absent] = policyOf('ForwardProgressFailed').conditions;
    expect(late.condition_threshold).toMatchObject({
      filter: expect.stringContaining(`metric.type="${METRICS.forwardProgress.type}"`),
      comparison: 'COMPARISON_GT',
      threshold_value: 1,
      aggregations: [expect.objectContaining({ group_by_fields: ['resource.label.job'] })],
    });
    const windowMs = jobTiming(fleetWatchdog).windowMs;
    expect(absent.condition_absent).toMatchObject({
      filter: expect.stringContaining(`resource.label.job="${fleetWatchdog.id}"`),
      duration: `${windowMs / 1000}s`,
    });
    expect(windowMs % 60_000).toBe(0);
    expect(windowMs).toBeGreaterThanOrEqual(GOOGLE_LIMITS.absenceMinMs);
    expect(windowMs).toBeLessThanOrEqual(GOOGLE_LIMITS.absenceMaxMs);
  });

  it('turns FailedJobs into the delta of exhausted ticks over its window, per job', () => {
    const [condition] = policyOf('FailedJobs').conditions;
    expect(condition.condition_threshold).toMatchObject({
      filter: expect.stringContaining(METRICS.exhaustedTicks.type),
      comparison: 'COMPARISON_GT',
      threshold_value: 0,
      aggregations: [
        {
          alignment_period: '600s',
          per_series_aligner: 'ALIGN_DELTA',
          cross_series_reducer: 'REDUCE_SUM',
          group_by_fields: ['resource.label.job'],
        },
      ],
    });
  });

  it('turns the rate rules into PromQL over the attempts counter, guarded by the minimum attempts', () => {
    expect(promQlMetricName(METRICS.attempts.type)).toBe('custom_googleapis_com:enx_jobs_attempts');
    const rate = ALERT_RULES.find((rule) => rule.id === 'JobFailureRate');
    if (rate?.condition.kind !== 'ratio') throw new Error('JobFailureRate is a ratio rule');
    expect(ratioQuery(rate.condition)).toBe(
      '(sum(increase(custom_googleapis_com:enx_jobs_attempts{monitored_resource="generic_task",namespace="enx-jobs",outcome="failed"}[5m]))' +
        ' / sum(increase(custom_googleapis_com:enx_jobs_attempts{monitored_resource="generic_task",namespace="enx-jobs",outcome=~"succeeded|failed"}[5m])))' +
        ' > 0.1 and sum(increase(custom_googleapis_com:enx_jobs_attempts{monitored_resource="generic_task",namespace="enx-jobs",outcome=~"succeeded|failed"}[5m])) >= 3',
    );
    for (const id of ['JobFailureRate', 'JobFailureRateCritical', 'JobQueueBacklog']) {
      expect(policyOf(id).conditions[0].condition_prometheus_query_language.query).toContain(
        'custom_googleapis_com:enx_jobs_attempts',
      );
    }
    expect(policyOf('JobQueueBacklog').conditions[0].condition_prometheus_query_language.query).toContain(
      ') < 0.9 and',
    );
  });

  it('turns JobProcessingStalled into a threshold on the idle gauge', () => {
    expect(policyOf('JobProcessingStalled').conditions[0].condition_threshold).toMatchObject({
      filter: expect.stringContaining(METRICS.fleetIdle.type),
      threshold_value: 600,
    });
  });

  it('shows every job on the dashboard with its charts and logs panel', () => {
    const [dashboard] = resources(json, 'google_monitoring_dashboard');
    const page = JSON.parse(dashboard.dashboard_json);
    const titles = page.mosaicLayout.tiles.map((tile: Json) => tile.widget.title);
    for (const job of jobs) {
      expect(titles).toContain(`${job.id}: ${job.schedule.cron} (${job.schedule.timeZone})`);
      expect(titles).toContain(`Logs of ${job.id}`);
      const logs = page.mosaicLayout.tiles.find((tile: Json) => tile.widget.title === `Logs of ${job.id}`);
      expect(logs.widget.logsPanel.filter).toBe(
        `resource.type="cloud_run_revision"\nresource.labels.service_name="${job.id}"`,
      );
    }
  });
});

describe('a fleet much larger than today', () => {
  const many: JobSpec[] = Array.from({ length: 40 }, (_, index) => ({
    ...(catalog[0] as JobSpec),
    id: `synthetic-job-number-${String(index).padStart(2, '0')}`,
  }));

  it('keeps every documentation within the limits', () => {
    for (const rule of ALERT_RULES) {
      const documentation = policyDocumentation(rule, readRunbook(rule), {
        environment: 'production-eu',
        projectId: 'enx-a-rather-long-project-id',
        jobIds: many.map((job) => job.id),
      });
      expect(documentation.content.length).toBeLessThanOrEqual(DOCUMENTATION_MAX_CHARS);
      expect(Buffer.byteLength(documentation.content)).toBeLessThanOrEqual(DOCUMENTATION_MAX_BYTES);
      if (rule.scope === 'job') expect(documentation.content).toContain('${resource.label.job}');
    }
  });

  it('spreads the dashboard over pages of at most 100 widgets', () => {
    const pages = dashboardPages('production', 'enx-test-project', many, ALERT_RULES);
    expect(pages.length).toBeGreaterThan(1);
    for (const page of pages)
      expect(page.mosaicLayout.tiles.length).toBeLessThanOrEqual(MAX_WIDGETS_PER_DASHBOARD);
    const titles = pages.flatMap((page) => page.mosaicLayout.tiles.map((tile) => tile.widget.title));
    for (const job of many) expect(titles).toContain(`Logs of ${job.id}`);
  });

  it('synthesizes a catalog of the size design.md plans', () => {
    const planned = many.slice(0, 14);
    const { json } = synth(settingsFrom(), { jobs: planned });
    expect(resources(json, 'google_cloudfunctions2_function')).toHaveLength(planned.length);
    expect(resources(json, 'google_monitoring_dashboard')).toHaveLength(1);
  });
});
