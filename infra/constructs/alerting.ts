/**
 * Alerting, derived from functions/alerts: a descriptor for every custom metric (so policies can
 * name a metric before its first point, with its unit and description), the log-based metric of
 * Cloud Scheduler's failed attempts, the notification channels of the settings, and one alert
 * policy per rule with its runbook as documentation, notifying the channels of its severity.
 */
import { Construct } from 'constructs';
import type { ITerraformDependable } from 'cdktf';
import { TerraformVariable } from 'cdktf';
import { DataGoogleSecretManagerSecretVersion } from '@cdktf/provider-google/lib/data-google-secret-manager-secret-version';
import { LoggingMetric } from '@cdktf/provider-google/lib/logging-metric';
import { MonitoringAlertPolicy } from '@cdktf/provider-google/lib/monitoring-alert-policy';
import { MonitoringMetricDescriptor } from '@cdktf/provider-google/lib/monitoring-metric-descriptor';
import { MonitoringNotificationChannel } from '@cdktf/provider-google/lib/monitoring-notification-channel';
import { METRICS, SCHEDULER_FAILED_ATTEMPTS } from '../../functions/alerts/metrics';
import type { MetricSpec } from '../../functions/alerts/metrics';
import type { AlertRule } from '../../functions/alerts/rules';
import { policyConditions } from '../alert-conditions';
import { policyDocumentation, readRunbook } from '../alert-documentation';
import { kebab, terraformLiteral } from '../naming';
import { schedulerFailedAttemptsFilter } from '../../functions/alerts/log-filters';
import type { ChannelKind, EnvironmentSettings, SecretSource } from '../settings';

export interface AlertingProps {
  readonly settings: EnvironmentSettings;
  readonly rules: readonly AlertRule[];
  readonly jobIds: readonly string[];
  readonly dependsOn: readonly ITerraformDependable[];
}

export class Alerting extends Construct {
  readonly descriptors: readonly MonitoringMetricDescriptor[];
  readonly channels: readonly MonitoringNotificationChannel[];
  readonly schedulerFailures: LoggingMetric;
  readonly policies: readonly MonitoringAlertPolicy[];

  constructor(scope: Construct, id: string, props: AlertingProps) {
    super(scope, id);
    const { settings } = props;
    const dependsOn = [...props.dependsOn];

    this.descriptors = Object.entries(METRICS as Record<string, MetricSpec>).map(
      ([name, metric]) =>
        new MonitoringMetricDescriptor(this, `metric-${kebab(name)}`, {
          type: metric.type,
          displayName: `enx-jobs ${metric.type.split('/').pop()}`,
          description: metric.description,
          metricKind: metric.kind,
          valueType: metric.valueType,
          unit: metric.unit,
          labels: metric.labels.map((label) => ({
            key: label.key,
            valueType: 'STRING',
            description: label.description,
          })),
          dependsOn,
        }),
    );

    const channels = this.notificationChannels(settings, dependsOn);
    this.channels = channels.map((channel) => channel.resource);
    const channelsOf = (rule: AlertRule) =>
      channels
        .filter((channel) => settings.notifications.routes[rule.severity].includes(channel.kind))
        .map((channel) => channel.resource.id);

    this.schedulerFailures = new LoggingMetric(this, 'scheduler-failed-attempts', {
      name: SCHEDULER_FAILED_ATTEMPTS.name,
      description:
        "Cloud Scheduler's failed attempts per job and status, from its own logs: counts even when no function answers.",
      filter: schedulerFailedAttemptsFilter(),
      metricDescriptor: {
        metricKind: 'DELTA',
        valueType: 'INT64',
        unit: '1',
        labels: [
          { key: 'job', valueType: 'STRING', description: 'The scheduler job id (the job id).' },
          { key: 'status', valueType: 'STRING', description: 'jsonPayload.status: a google.rpc.Code name.' },
        ],
      },
      labelExtractors: {
        job: 'EXTRACT(resource.labels.job_id)',
        status: 'EXTRACT(jsonPayload.status)',
      },
      dependsOn,
    });

    const documentationContext = {
      environment: settings.name,
      projectId: settings.projectId,
      jobIds: props.jobIds,
    };
    this.policies = props.rules.map((rule) => {
      const documentation = policyDocumentation(rule, readRunbook(rule), documentationContext);
      return new MonitoringAlertPolicy(this, `policy-${kebab(rule.id)}`, {
        displayName: rule.id,
        severity: rule.severity,
        combiner: 'OR',
        enabled: true,
        userLabels: {
          app: 'enx-jobs',
          environment: settings.name,
          alert: kebab(rule.id),
          scope: rule.scope,
          severity: rule.severity.toLowerCase(),
        },
        conditions: policyConditions(rule),
        notificationChannels: channelsOf(rule),
        ...(rule.autoCloseMs === undefined
          ? {}
          : { alertStrategy: { autoClose: `${Math.round(rule.autoCloseMs / 1000)}s` } }),
        documentation: {
          mimeType: 'text/markdown',
          subject: terraformLiteral(documentation.subject),
          content: terraformLiteral(documentation.content),
          links: documentation.links.map((link) => ({
            displayName: link.displayName,
            url: terraformLiteral(link.url),
          })),
        },
        // A policy on a metric Cloud Monitoring does not know yet is refused.
        dependsOn: [...dependsOn, ...this.descriptors, this.schedulerFailures],
      });
    });
  }

  private notificationChannels(
    settings: EnvironmentSettings,
    dependsOn: ITerraformDependable[],
  ): { kind: ChannelKind; resource: MonitoringNotificationChannel }[] {
    const { notifications } = settings;
    const common = { userLabels: { app: 'enx-jobs', environment: settings.name }, dependsOn };
    const channels = notifications.emails.map((email, index) => ({
      kind: 'email' as ChannelKind,
      resource: new MonitoringNotificationChannel(this, `email-${index}`, {
        type: 'email',
        displayName: `enx-jobs ${settings.name}: ${email}`,
        labels: { email_address: email },
        ...common,
      }),
    }));
    if (notifications.pagerDutyServiceKey) {
      channels.push({
        kind: 'pagerduty',
        resource: new MonitoringNotificationChannel(this, 'pagerduty', {
          type: 'pagerduty',
          displayName: `enx-jobs ${settings.name}: PagerDuty`,
          sensitiveLabels: {
            serviceKey: this.secretValue('pagerduty-service-key', notifications.pagerDutyServiceKey),
          },
          ...common,
        }),
      });
    }
    if (notifications.slack) {
      channels.push({
        kind: 'slack',
        resource: new MonitoringNotificationChannel(this, 'slack', {
          type: 'slack',
          displayName: `enx-jobs ${settings.name}: Slack ${notifications.slack.channelName}`,
          labels: { channel_name: notifications.slack.channelName },
          sensitiveLabels: { authToken: this.secretValue('slack-auth-token', notifications.slack.authToken) },
          ...common,
        }),
      });
    }
    if (notifications.webhookUrl) {
      channels.push({
        kind: 'webhook',
        resource: new MonitoringNotificationChannel(this, 'webhook', {
          type: 'webhook_tokenauth',
          displayName: `enx-jobs ${settings.name}: webhook`,
          labels: { url: this.secretValue('webhook-url', notifications.webhookUrl) },
          ...common,
        }),
      });
    }
    return channels;
  }

  /** A secret's value for Terraform: read from Secret Manager at plan time, or a sensitive variable. */
  private secretValue(id: string, source: SecretSource): string {
    if (source.kind === 'variable') {
      const variable = new TerraformVariable(this, source.name, {
        type: 'string',
        sensitive: true,
        nullable: false,
        description: `The ${id} of the notification channel (pass it as TF_VAR_${source.name}).`,
      });
      // Operators pass it as TF_VAR_<name>: the name must not get a construct-path suffix.
      variable.overrideLogicalId(source.name);
      return variable.stringValue;
    }
    return new DataGoogleSecretManagerSecretVersion(this, `${id}-secret`, { secret: source.secretId })
      .secretData;
  }
}
