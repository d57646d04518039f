/**
 * Preflight: the synthesized stack (Terraform JSON) read back against Google's documented limits
 * and our own least-privilege rules, so that a violation stops synth with the resource, the limit
 * and the fix, instead of failing half-way through an apply (or worse, applying and never running).
 *
 * Every limit names its source; the dates are when each was last read. Pure functions over JSON:
 * main.ts runs them after synth, the tests run them on stacks built in memory.
 */
import {
  FUNCTION_RUNTIME,
  MAX_MEMORY_MIB_AT_ONE_CPU,
  RUNTIME_SUPPORT_SOURCE,
  runtimeStatus,
} from './runtime-support';

export interface Violation {
  readonly resource: string;
  readonly limit: string;
  readonly fix: string;
}

/** A synthesized stack: `resource.<type>.<name>` objects, as in cdk.tf.json. */
export interface StackJson {
  readonly resource?: Record<string, Record<string, Record<string, unknown>>>;
}

export const LIMIT_SOURCES = {
  runtime: `${RUNTIME_SUPPORT_SOURCE.url} (read ${RUNTIME_SUPPORT_SOURCE.checkedOn})`,
  functionTimeout:
    'https://cloud.google.com/functions/docs/configuring/timeout: at most 3600 s for HTTP functions (read 2026-12-06)',
  attemptDeadline:
    'https://cloud.google.com/scheduler/docs/reference/rest/v1/projects.locations.jobs (attemptDeadline): 15 s to 30 min for HTTP targets (read 2026-12-06)',
  retryCount:
    'https://cloud.google.com/scheduler/docs/reference/rest/v1/projects.locations.jobs#retryconfig: retryCount 0 to 5 (read 2026-12-06)',
  absence:
    'https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.alertPolicies#metricabsence: duration 120 s to 23 h 30 min (read 2026-12-06)',
  documentation:
    'https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.alertPolicies#documentation: content at most 8,192 Unicode characters (read 2026-12-06)',
  kmsScope:
    'https://cloud.google.com/kms/docs/iam: grant roles on the lowest resource that needs them, a key or key ring (read 2026-12-06)',
  cpuMemory:
    'https://cloud.google.com/run/docs/configuring/cpu: 1 vCPU allows up to 4 GiB of memory (read 2026-12-06)',
  metricKind:
    'https://cloud.google.com/monitoring/custom-metrics/creating-metrics#which-resource: user-defined metrics are GAUGE or CUMULATIVE, never DELTA (read 2026-12-06)',
} as const;

const FUNCTION_TIMEOUT_MAX_S = 3600;
const ATTEMPT_DEADLINE_MIN_S = 15;
const ATTEMPT_DEADLINE_MAX_S = 1800;
const RETRY_COUNT_MAX = 5;
const ABSENCE_MIN_S = 120;
const ABSENCE_MAX_S = 23.5 * 3600;
const DOCUMENTATION_MAX_CHARS = 8192;

type Resource = Record<string, unknown>;
type Check = (name: string, resource: Resource, today: Date) => Violation[];

function seconds(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  const match = typeof value === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(value) : null;
  return match ? Number(match[1]) : undefined;
}

/** Terraform JSON nests single blocks either as an object or as a one-element list. */
function block(value: unknown): Resource | undefined {
  if (Array.isArray(value)) return value[0] as Resource | undefined;
  return value && typeof value === 'object' ? (value as Resource) : undefined;
}

function blocks(value: unknown): Resource[] {
  if (Array.isArray(value)) return value as Resource[];
  return value && typeof value === 'object' ? [value as Resource] : [];
}

const checkFunction: Check = (name, resource, today) => {
  const violations: Violation[] = [];
  const where = `google_cloudfunctions2_function.${name}`;
  const runtime = String(block(resource.build_config)?.runtime ?? '');
  const status = runtimeStatus(runtime, today);
  if (status !== 'supported') {
    violations.push({
      resource: where,
      limit: `runtime ${runtime} is ${status} on ${today.toISOString().slice(0, 10)} (${LIMIT_SOURCES.runtime})`,
      fix: `deploy on a supported runtime: set FUNCTION_RUNTIME in infra/runtime-support.ts (today ${FUNCTION_RUNTIME}) and update the table from Google's page`,
    });
  }
  const timeout = seconds(block(resource.service_config)?.timeout_seconds);
  if (timeout !== undefined && timeout > FUNCTION_TIMEOUT_MAX_S) {
    violations.push({
      resource: where,
      limit: `timeout ${timeout} s is over ${FUNCTION_TIMEOUT_MAX_S} s (${LIMIT_SOURCES.functionTimeout})`,
      fix: "lower the job's attemptDeadlineMs in functions/catalog.ts",
    });
  }
  violations.push(...checkCpuMemory(where, block(resource.service_config)));
  return violations;
};

function mebibytes(value: unknown): number | undefined {
  const match = typeof value === 'string' ? /^(\d+)(Mi|Gi)$/.exec(value) : null;
  return match ? Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1) : undefined;
}

const checkCpuMemory = (where: string, service: Resource | undefined): Violation[] => {
  const memory = mebibytes(service?.available_memory);
  if (service?.available_cpu !== '1' || memory === undefined || memory <= MAX_MEMORY_MIB_AT_ONE_CPU)
    return [];
  return [
    {
      resource: where,
      limit: `${memory} MiB of memory is over the ${MAX_MEMORY_MIB_AT_ONE_CPU} MiB one vCPU allows (${LIMIT_SOURCES.cpuMemory})`,
      fix: "lower the job's memoryMb in functions/catalog.ts, or raise FUNCTION_CPU in infra/runtime-support.ts",
    },
  ];
};

const checkSchedulerJob: Check = (name, resource) => {
  const violations: Violation[] = [];
  const where = `google_cloud_scheduler_job.${name}`;
  const deadline = seconds(resource.attempt_deadline);
  if (deadline !== undefined && (deadline < ATTEMPT_DEADLINE_MIN_S || deadline > ATTEMPT_DEADLINE_MAX_S)) {
    violations.push({
      resource: where,
      limit: `attempt deadline ${deadline} s is outside ${ATTEMPT_DEADLINE_MIN_S}-${ATTEMPT_DEADLINE_MAX_S} s (${LIMIT_SOURCES.attemptDeadline})`,
      fix: "set the job's attemptDeadlineMs in functions/catalog.ts within that range",
    });
  }
  const retries = block(resource.retry_config)?.retry_count;
  if (typeof retries === 'number' && (retries < 0 || retries > RETRY_COUNT_MAX)) {
    violations.push({
      resource: where,
      limit: `retry count ${retries} is outside 0-${RETRY_COUNT_MAX} (${LIMIT_SOURCES.retryCount})`,
      fix: "set the job's retry.retryCount in functions/catalog.ts between 0 and 5",
    });
  }
  return violations;
};

const checkAlertPolicy: Check = (name, resource) => {
  const violations: Violation[] = [];
  const where = `google_monitoring_alert_policy.${name}`;
  const content = block(resource.documentation)?.content;
  if (typeof content === 'string' && [...content].length > DOCUMENTATION_MAX_CHARS) {
    violations.push({
      resource: where,
      limit: `documentation is ${[...content].length} characters, over ${DOCUMENTATION_MAX_CHARS} (${LIMIT_SOURCES.documentation})`,
      fix: 'shorten the runbook summary in infra/alert-documentation.ts, and link to the full runbook',
    });
  }
  for (const condition of blocks(resource.conditions)) {
    const absence = block(condition.condition_absent);
    const duration = seconds(absence?.duration);
    if (duration !== undefined && (duration < ABSENCE_MIN_S || duration > ABSENCE_MAX_S)) {
      violations.push({
        resource: `${where} (${String(condition.display_name ?? 'condition')})`,
        limit: `absence duration ${duration} s is outside ${ABSENCE_MIN_S}-${ABSENCE_MAX_S} s (${LIMIT_SOURCES.absence})`,
        fix: "change the job's schedule or missedTicksBeforeAlert in functions/catalog.ts so its window fits",
      });
    }
  }
  return violations;
};

const checkMetricDescriptor: Check = (name, resource) => {
  const kind = resource.metric_kind;
  if (kind === 'GAUGE' || kind === 'CUMULATIVE') return [];
  return [
    {
      resource: `google_monitoring_metric_descriptor.${name}`,
      limit: `metric kind ${String(kind)} is not allowed for user-defined metrics (${LIMIT_SOURCES.metricKind})`,
      fix: 'declare the metric as GAUGE or CUMULATIVE in functions/alerts/metrics.ts',
    },
  ];
};

/** Least privilege: Cloud KMS roles are granted on a key ring or key, never on the project. */
const checkProjectRole: Check = (name, resource) => {
  const role = String(resource.role ?? '');
  if (!role.startsWith('roles/cloudkms.')) return [];
  return [
    {
      resource: `google_project_iam_member.${name}`,
      limit: `${role} granted on the whole project reaches every key of the project (${LIMIT_SOURCES.kmsScope})`,
      fix: 'grant it on the key ring or key the job uses (kmsGrants in the catalog entry)',
    },
  ];
};

const CHECKS: Record<string, Check> = {
  google_cloudfunctions2_function: checkFunction,
  google_cloud_scheduler_job: checkSchedulerJob,
  google_monitoring_alert_policy: checkAlertPolicy,
  google_monitoring_metric_descriptor: checkMetricDescriptor,
  google_project_iam_member: checkProjectRole,
};

export function preflight(stack: StackJson, today: Date = new Date()): Violation[] {
  const violations: Violation[] = [];
  for (const [type, resources] of Object.entries(stack.resource ?? {})) {
    const check = CHECKS[type];
    if (!check) continue;
    for (const [name, resource] of Object.entries(resources))
      violations.push(...check(name, resource, today));
  }
  return violations;
}

export function formatViolations(stackName: string, violations: readonly Violation[]): string {
  const lines = violations.map((v) => `  - ${v.resource}: ${v.limit}.\n    Fix: ${v.fix}.`);
  return `preflight refused stack ${stackName} (${violations.length} problem${violations.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}
