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
  jobVariable,
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
    // No per-job table: the documentation must not grow with the catalog.
    expect(documentation.content).not.toContain(
      encodeURIComponent(`resource.labels.service_name="${jobs[0].id}"`),
    );
  });

  it('turns ForwardProgressFailed into a per-job ratio threshold and a watchdog absence that needs no prior series', () => {
    const [late, absent] = policyOf('ForwardProgressFailed').conditions;
    expect(late.condition_threshold).toMatchObject({
      filter: expect.stringContaining(`metric.type="${METRICS.forwardProgress.type}"`),
      comparison: 'COMPARISON_GT',
      threshold_value: 1,
      aggregations: [expect.objectContaining({ group_by_fields: ['resource.label.job'] })],
    });
    // One period more than its window: its heartbeat is written by its next run.
    const windowMs = jobTiming(fleetWatchdog).windowMs + jobTiming(fleetWatchdog).maxGapMs;
    expect(absent.condition_prometheus_query_language).toMatchObject({
      query: `absent_over_time(custom_googleapis_com:enx_jobs_heartbeat{monitored_resource="generic_task",namespace="enx-jobs",job="${fleetWatchdog.id}"}[${windowMs / 60_000}m])`,
      disable_metric_validation: true,
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
          alignment_period: '1800s',
          per_series_aligner: 'ALIGN_DELTA',
          cross_series_reducer: 'REDUCE_SUM',
          group_by_fields: ['resource.label.job'],
        },
      ],
    });
  });

  it('turns the rate rules into PromQL over ticks, held for their duration and their recovery', () => {
    expect(promQlMetricName(METRICS.attempts.type)).toBe('custom_googleapis_com:enx_jobs_attempts');
    const rate = ALERT_RULES.find((rule) => rule.id === 'JobFailureRate');
    if (rate?.condition.kind !== 'ratio') throw new Error('JobFailureRate is a ratio rule');
    const selector = (extra: string) =>
      `{monitored_resource="generic_task",namespace="enx-jobs",job!="fleet-watchdog"${extra}}`;
    const failed = `(sum(increase(custom_googleapis_com:enx_jobs_exhausted_ticks${selector('')}[15m])) or vector(0))`;
    const succeeded = `(sum(increase(custom_googleapis_com:enx_jobs_attempts${selector(',outcome="succeeded"')}[15m])) or vector(0))`;
    const ticks = `(${succeeded} + ${failed})`;
    expect(ratioQuery(rate.condition)).toBe(
      `max_over_time((count_over_time(((${failed} / ${ticks}) > 0.1 and ${ticks} >= 6)[5m:1m]) >= 5)[15m:1m])`,
    );
    for (const id of ['JobFailureRate', 'JobFailureRateCritical', 'JobQueueBacklog']) {
      expect(policyOf(id).conditions[0].condition_prometheus_query_language).toMatchObject({
        duration: '0s',
        disable_metric_validation: true,
      });
    }
    expect(policyOf('JobQueueBacklog').conditions[0].condition_prometheus_query_language.query).toContain(
      '[10m:1m]) >= 10',
    );
  });

  it('counts failed Cloud Scheduler attempts by job and status in a log-based metric, and pages on it', () => {
    const [metric] = resources(json, 'google_logging_metric');
    expect(metric).toMatchObject({
      name: 'enx_jobs/scheduler_failed_attempts',
      filter: expect.stringContaining('resource.type="cloud_scheduler_job"'),
      label_extractors: { job: 'EXTRACT(resource.labels.job_id)', status: 'EXTRACT(jsonPayload.status)' },
      metric_descriptor: expect.objectContaining({ metric_kind: 'DELTA', value_type: 'INT64' }),
    });
    const query = policyOf('SchedulerAttemptsFailed').conditions[0].condition_prometheus_query_language.query;
    expect(query).toContain(
      'sum by (job, status) (increase(logging_googleapis_com:user_enx_jobs_scheduler_failed_attempts{monitored_resource="cloud_scheduler_job"}[10m])) > 0',
    );
    expect(query).toContain('unless on (job)');
    // The log-based metric's job is a metric label (its resource calls it job_id).
    expect(policyOf('SchedulerAttemptsFailed').documentation.subject).toContain('$${metric.label.job}');
    expect(policyOf('RequestsRefused').conditions[0].condition_prometheus_query_language.query).toContain(
      'sum by (job, reason) (increase(custom_googleapis_com:enx_jobs_refused_requests',
    );
  });

  it('routes each policy to the channels of its severity and sets auto_close on purpose', () => {
    const channels = resources(json, 'google_monitoring_notification_channel');
    expect(channels.length).toBeGreaterThanOrEqual(1);
    for (const rule of ALERT_RULES) {
      const policy = policyOf(rule.id);
      expect(policy.notification_channels.length).toBeGreaterThanOrEqual(1);
      expect(policy.alert_strategy?.auto_close).toBe(
        rule.autoCloseMs === undefined ? undefined : `${rule.autoCloseMs / 1000}s`,
      );
    }
    const split = synth(
      settingsFrom({
        ENX_INFRA_PAGERDUTY_SERVICE_KEY: 'var:pd_key',
        ENX_INFRA_SLACK_CHANNEL: '#enx',
        ENX_INFRA_SLACK_AUTH_TOKEN: 'var:slack_token',
      }),
    ).json;
    const policy = (id: string) =>
      resources(split, 'google_monitoring_alert_policy').find((p) => p.display_name === id) as Json;
    const slack = '${google_monitoring_notification_channel.alerting_slack_';
    for (const id of ['ForwardProgressFailed', 'FailedJobs', 'SchedulerAttemptsFailed', 'RequestsRefused']) {
      expect(policy(id).notification_channels.join()).toContain('pagerduty');
      expect(policy(id).notification_channels.join()).not.toContain(slack.slice(2));
    }
    for (const id of [
      'JobFailureRate',
      'JobFailureRateCritical',
      'JobQueueBacklog',
      'JobProcessingStalled',
    ]) {
      expect(policy(id).notification_channels).toHaveLength(1);
      expect(policy(id).notification_channels[0]).toContain('slack');
    }
  });

  it('leaves zero coordinates out of the dashboard tiles (provider issue #16173)', () => {
    for (const dashboard of resources(json, 'google_monitoring_dashboard')) {
      for (const tile of JSON.parse(dashboard.dashboard_json).mosaicLayout.tiles) {
        expect(tile.xPos).not.toBe(0);
        expect(tile.yPos).not.toBe(0);
      }
    }
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
      if (rule.scope === 'job') expect(documentation.content).toContain(jobVariable(rule));
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
