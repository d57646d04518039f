/**
 * Deployment settings: everything about a deployment that the catalog does not say (which project,
 * where the database is, who gets paged, where Terraform keeps its state). Read once, from a JSON
 * file (ENX_INFRA_SETTINGS_FILE) and/or ENX_INFRA_* environment variables, validated whole: every
 * bad or missing setting is reported at once, named by its file key and its variable.
 *
 * Precedence, lowest first: the file's top level, then ENX_INFRA_* variables, then the file's
 * `environments.<name>` section. So CI can inject what is common (a state bucket) while each
 * environment keeps what is its own (its project).
 *
 * Secrets never appear here: a setting that needs one names where it lives (`secret:<id>`, a Secret
 * Manager secret read when Terraform plans, or `var:<name>`, a sensitive Terraform variable).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { catalog } from '../functions/catalog';
import { SEVERITIES } from '../functions/alerts/rules';
import type { Severity } from '../functions/alerts/rules';
import { jobEnvProblems } from './job-env';
import type { Env, Flat } from './settings-reader';
import { Reader, flattenEnv, flattenFile, isPlainObject, label } from './settings-reader';
import { ENVIRONMENT_ENV, SETTINGS_FILE_ENV } from './settings-table';

export { BUILD_ENV, ENVIRONMENT_ENV, SETTINGS, SETTINGS_FILE_ENV } from './settings-table';
export type { SettingSpec } from './settings-table';

/** Where a secret value comes from; the value itself never passes through the settings. */
export type SecretSource =
  | { readonly kind: 'secret-manager'; readonly secretId: string }
  | { readonly kind: 'variable'; readonly name: string };

export interface NotificationSettings {
  readonly emails: readonly string[];
  readonly pagerDutyServiceKey?: SecretSource;
  readonly slack?: { readonly channelName: string; readonly authToken: SecretSource };
  /** webhook_tokenauth: the URL carries its token, so it is a secret too. */
  readonly webhookUrl?: SecretSource;
  /** Which kinds of channel each severity notifies (functions/alerts/rules.ts: CRITICAL and ERROR page). */
  readonly routes: Readonly<Record<Severity, readonly ChannelKind[]>>;
}

export type ChannelKind = 'email' | 'pagerduty' | 'slack' | 'webhook';
export const CHANNEL_KINDS: readonly ChannelKind[] = ['email', 'pagerduty', 'slack', 'webhook'];

/** The ENX database the jobs work on: the verification server's, or a new Cloud SQL instance. */
/** How the functions reach the database (docs/deploy.md, "The database path"). */
export type DatabaseConnection =
  | {
      readonly kind: 'cloud-sql-connector';
      readonly instance: string;
      readonly ipType: 'PUBLIC' | 'PRIVATE' | 'PSC';
    }
  | { readonly kind: 'direct' };

export type DatabaseSettings = { readonly connection: DatabaseConnection } & (
  | {
      readonly mode: 'existing';
      /** Private IP, hostname, or /cloudsql/<connection name> for the Cloud SQL socket. */
      readonly host: string;
      readonly port: number;
      readonly name: string;
      readonly user: string;
      readonly sslMode: 'disable' | 'require' | 'verify-ca' | 'verify-full';
      /** An existing Secret Manager secret holding the password; unset: infra creates enx-db-password. */
      readonly passwordSecretId?: string;
      /** project:region:instance of the Cloud SQL instance, when the jobs need it (backups). */
      readonly instanceConnectionName?: string;
    }
  | {
      readonly mode: 'cloud-sql';
      readonly instanceName: string;
      readonly name: string;
      readonly user: string;
      readonly tier: string;
      readonly diskSizeGb: number;
      readonly databaseVersion: string;
      readonly highAvailability: boolean;
      readonly deletionProtection: boolean;
    }
);

export type BackendSettings =
  | { readonly kind: 'gcs'; readonly bucket: string; readonly prefix: string }
  /** Relative to the synthesized stack folder (cdktf.out/stacks/<env>). */
  | { readonly kind: 'local'; readonly path: string };

export interface EnvironmentSettings {
  readonly name: string;
  readonly projectId: string;
  /** Functions, buckets, KMS and Cloud SQL. */
  readonly region: string;
  /** Cloud Scheduler is not offered in every region. */
  readonly schedulerRegion: string;
  /** KEY_MANAGER for every function. */
  readonly keyManager: string;
  /** The built function source (npm run build), relative to the repository root. */
  readonly functionSource: string;
  readonly maxInstances: number;
  /** Jobs whose scheduler job is declared paused. */
  readonly pausedJobs: readonly string[];
  /** Catalog jobs this deployment does not run at all: no function, scheduler job or alert. */
  readonly omittedJobs: readonly string[];
  readonly notifications: NotificationSettings;
  readonly database: DatabaseSettings;
  readonly backend: BackendSettings;
  readonly backupRetentionDays: number;
  /** A Serverless VPC Access connector for private addresses, projects/P/locations/R/connectors/N. */
  readonly vpcConnector?: string;
  readonly kms: { readonly legacySoftwareKeys: boolean };
  /** Extra env vars for every function (runtime settings such as LOG_LEVEL). */
  readonly env: Readonly<Record<string, string>>;
  /** Extra env vars per job id (the job's own settings). */
  readonly jobEnv: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export interface InfraSettings {
  readonly environments: readonly EnvironmentSettings[];
}

export class InfraSettingsError extends Error {
  override readonly name = 'InfraSettingsError';
  constructor(readonly problems: readonly string[]) {
    super(`infra settings are invalid:\n  - ${problems.join('\n  - ')}`);
  }
}

const DEFAULT_ENVIRONMENT = 'production';

const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const REGION = /^[a-z]+-[a-z]+[0-9]+$/;
const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,19}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;
const BUCKET = /^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$/;
const CONNECTION_NAME = /^[a-z][a-z0-9-:.]*:[a-z]+-[a-z]+[0-9]+:[a-z][a-z0-9-]*$/;
const INSTANCE_NAME = /^[a-z][a-z0-9-]{0,96}[a-z0-9]$/;
const VPC_CONNECTOR =
  /^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/locations\/[a-z]+-[a-z]+[0-9]+\/connectors\/[a-z][-a-z0-9]{0,23}$/;
/** RFC 1918 and shared (CGNAT) ranges: a function reaches them only through a VPC connector. */
const PRIVATE_IPV4 = /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.)/;

/**
 * Whether the functions have a path to the database. Cloud Run functions get no /cloudsql socket
 * and reach private addresses only through a VPC connector; both mistakes would deploy a fleet that
 * never reaches its database, and so never reports anything either.
 */
function databasePathProblems(database: DatabaseSettings, vpcConnector: string | undefined): string[] {
  const problems: string[] = [];
  const connection = database.connection;
  if (connection.kind === 'cloud-sql-connector') {
    if (connection.ipType !== 'PUBLIC' && !vpcConnector) {
      problems.push(
        `${label('database.ipType')} ${connection.ipType} needs ${label('network.vpcConnector')}: the connector dials the instance's ${connection.ipType} address from inside the VPC; or use PUBLIC`,
      );
    }
    return problems;
  }
  if (database.mode !== 'existing') return problems;
  if (database.host.startsWith('/cloudsql/')) {
    problems.push(
      `${label('database.host')} ${database.host}: Cloud Run functions get no /cloudsql socket; set ${label('database.instance')} to the connection name and ${label('database.connector')} to cloud-sql-connector`,
    );
  } else if (PRIVATE_IPV4.test(database.host) && !vpcConnector) {
    problems.push(
      `${label('database.host')} ${database.host} is a private address, which functions reach only through a VPC connector: set ${label('network.vpcConnector')}, or set ${label('database.instance')} and use the Cloud SQL connector`,
    );
  }
  return problems;
}

function stringRecord(
  value: Record<string, unknown> | undefined,
  where: string,
  problems: string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, item] of Object.entries(value ?? {})) {
    if (typeof item === 'string') out[name] = item;
    else problems.push(`${where}.${name}: must be a string, not ${JSON.stringify(item)}`);
  }
  return out;
}

function readEnvironment(name: string, flat: Flat, problems: string[], prefix: string): EnvironmentSettings {
  const read = new Reader(flat, problems, prefix);
  const fail = (message: string) => problems.push(`${prefix}${message}`);

  const projectId = read.matching(
    'projectId',
    PROJECT_ID,
    'a project id (6-30 lowercase letters, digits or hyphens, starting with a letter)',
  );
  if (!read.has('projectId'))
    fail(`${label('projectId')} is required: the Google Cloud project to deploy to`);
  const region = read.matching('region', REGION, 'a region such as us-central1') ?? 'us-central1';
  const schedulerRegion = read.matching('schedulerRegion', REGION, 'a region such as us-central1') ?? region;

  const jobIds: readonly string[] = catalog.map((job) => job.id);
  const pausedJobs = read.list('pausedJobs') ?? [];
  for (const id of pausedJobs) {
    if (!jobIds.includes(id))
      fail(`${label('pausedJobs')}: "${id}" is not a job of the catalog (${jobIds.join(', ')})`);
  }

  // A deployment without, say, a redirect service leaves e2e-redirect out rather than running a
  // probe that can only fail or lie; the watchdog is what watches the others, so it always stays.
  const omittedJobs = read.list('omittedJobs') ?? [];
  for (const id of omittedJobs) {
    if (!jobIds.includes(id))
      fail(`${label('omittedJobs')}: "${id}" is not a job of the catalog (${jobIds.join(', ')})`);
    else if (id === 'fleet-watchdog')
      fail(`${label('omittedJobs')}: fleet-watchdog cannot be left out; it is what measures the other jobs`);
  }

  const emails = read.list('notifications.emails') ?? [];
  for (const email of emails) {
    if (!EMAIL.test(email)) fail(`${label('notifications.emails')}: "${email}" is not an email address`);
  }
  const pagerDutyServiceKey = read.secretSource('notifications.pagerDutyServiceKey');
  const slackChannel = read.matching(
    'notifications.slackChannel',
    /^#[^\s]{1,80}$/,
    'a channel like #alerts',
  );
  const slackToken = read.secretSource('notifications.slackAuthToken');
  if (read.has('notifications.slackChannel') !== read.has('notifications.slackAuthToken')) {
    fail(
      `${label('notifications.slackChannel')} and ${label('notifications.slackAuthToken')} go together: set both or neither`,
    );
  }
  const webhookUrl = read.secretSource('notifications.webhookUrl');
  const configured = CHANNEL_KINDS.filter(
    (kind) =>
      ({
        email: emails.length > 0,
        pagerduty: pagerDutyServiceKey !== undefined,
        slack: slackChannel !== undefined && slackToken !== undefined,
        webhook: webhookUrl !== undefined,
      })[kind],
  );
  const notifications: NotificationSettings = {
    emails,
    ...(pagerDutyServiceKey ? { pagerDutyServiceKey } : {}),
    ...(slackChannel && slackToken ? { slack: { channelName: slackChannel, authToken: slackToken } } : {}),
    ...(webhookUrl ? { webhookUrl } : {}),
    routes: readRoutes(read, configured, fail),
  };
  const channelKeys = [
    'notifications.emails',
    'notifications.pagerDutyServiceKey',
    'notifications.slackChannel',
    'notifications.webhookUrl',
  ];
  if (!channelKeys.some((key) => read.has(key))) {
    fail(
      `at least one notification channel is required, or alerts reach nobody: set ${channelKeys.map(label).join(', or ')}`,
    );
  }

  const database = readDatabase(name, read, fail);
  const vpcConnector = read.matching(
    'network.vpcConnector',
    VPC_CONNECTOR,
    'a connector name, projects/<project>/locations/<region>/connectors/<name>',
  );
  for (const problem of databasePathProblems(database, vpcConnector)) fail(problem);

  const bucket = read.matching('backend.bucket', BUCKET, 'a bucket name');
  const localPath = read.relativePath('backend.path');
  if (bucket && localPath)
    fail(
      `${label('backend.bucket')} and ${label('backend.path')} exclude each other: pick GCS or local state`,
    );
  const prefixText = read.matching('backend.prefix', /^[A-Za-z0-9_./-]+$/, 'a state prefix') ?? 'enx-jobs';
  const backend: BackendSettings = bucket
    ? { kind: 'gcs', bucket, prefix: `${prefixText.replace(/\/+$/, '')}/${name}` }
    : { kind: 'local', path: localPath ?? `../../../terraform.${name}.tfstate` };

  const env = stringRecord(read.record('env'), `${prefix}env`, problems);
  const jobEnvRaw = read.record('jobEnv') ?? {};
  const jobEnv: Record<string, Record<string, string>> = {};
  for (const [jobId, vars] of Object.entries(jobEnvRaw)) {
    if (!jobIds.includes(jobId)) {
      fail(`${label('jobEnv')}: "${jobId}" is not a job of the catalog (${jobIds.join(', ')})`);
      continue;
    }
    if (!isPlainObject(vars)) {
      fail(`${label('jobEnv')}.${jobId}: must be an object of env var names to values`);
      continue;
    }
    jobEnv[jobId] = stringRecord(vars, `${prefix}jobEnv.${jobId}`, problems);
  }

  const settings: EnvironmentSettings = {
    name,
    projectId: projectId ?? '',
    region,
    schedulerRegion,
    keyManager: read.matching('keyManager', /^[a-z][a-z0-9-]*$/, 'a key manager name') ?? 'google-cloud-kms',
    functionSource: read.relativePath('functionSource') ?? 'dist/functions',
    maxInstances: read.integer('maxInstances', 1, 100) ?? 2,
    pausedJobs,
    omittedJobs,
    notifications,
    database,
    backend,
    backupRetentionDays: read.integer('backupRetentionDays', 1, 3650) ?? 30,
    ...(vpcConnector ? { vpcConnector } : {}),
    kms: { legacySoftwareKeys: read.boolean('kms.legacySoftwareKeys') ?? false },
    env,
    jobEnv,
  };
  for (const problem of jobEnvProblems(settings)) fail(problem);
  return settings;
}

/**
 * The channels of each severity. Defaults: CRITICAL and ERROR page through every configured
 * channel but Slack (a chat channel wakes nobody), WARNING goes to Slack, else email: the rate
 * alerts reach people during the day without paging them (docs/signals.md, "Routing").
 */
function readRoutes(
  read: Reader,
  configured: readonly ChannelKind[],
  fail: (message: string) => void,
): Record<Severity, readonly ChannelKind[]> {
  if (configured.length === 0) return { CRITICAL: [], ERROR: [], WARNING: [] };
  const paging = configured.filter((kind) => kind !== 'slack');
  const page = paging.length > 0 ? paging : configured;
  const quiet = configured.includes('slack')
    ? ['slack' as const]
    : configured.includes('email')
      ? ['email' as const]
      : page;
  const defaults: Record<Severity, readonly ChannelKind[]> = { CRITICAL: page, ERROR: page, WARNING: quiet };
  const routes = { ...defaults };
  for (const severity of SEVERITIES) {
    const key = `notifications.${severity.toLowerCase()}`;
    const listed = read.list(key);
    if (listed === undefined) continue;
    const unknown = listed.filter((kind) => !(CHANNEL_KINDS as readonly string[]).includes(kind));
    const missing = listed.filter(
      (kind) =>
        (CHANNEL_KINDS as readonly string[]).includes(kind) && !configured.includes(kind as ChannelKind),
    );
    if (unknown.length > 0)
      fail(`${label(key)}: ${unknown.join(', ')} is not a channel kind; use ${CHANNEL_KINDS.join(', ')}`);
    if (missing.length > 0)
      fail(
        `${label(key)}: ${missing.join(', ')} is not configured; configure it under notifications, or leave it out`,
      );
    if (listed.length === 0)
      fail(`${label(key)}: lists no channel, so ${severity} alerts would reach nobody`);
    routes[severity] = listed.filter((kind): kind is ChannelKind => configured.includes(kind as ChannelKind));
  }
  return routes;
}

function readDatabase(name: string, read: Reader, fail: (message: string) => void): DatabaseSettings {
  const mode = read.oneOf('database.mode', ['existing', 'cloud-sql'] as const) ?? 'existing';
  const dbName =
    read.matching('database.name', /^[A-Za-z0-9_-]{1,63}$/, 'a database name') ?? 'en-verification';
  const user = read.matching('database.user', /^[A-Za-z0-9_.@-]{1,63}$/, 'a database user') ?? 'enx-jobs';
  if (mode === 'cloud-sql') {
    const version = read.matching('database.version', /^POSTGRES_\d+$/, 'POSTGRES_<major>') ?? 'POSTGRES_16';
    const instanceName =
      read.matching('database.instance', INSTANCE_NAME, 'a Cloud SQL instance name') ?? `enx-${name}`;
    if (read.oneOf('database.connector', ['cloud-sql-connector', 'direct'] as const) === 'direct') {
      fail(
        `${label('database.connector')} direct: an instance created here is reached through the Cloud SQL connector only`,
      );
    }
    return {
      mode,
      // The connection name is only known once the instance exists; Database fills it in.
      connection: { kind: 'cloud-sql-connector', instance: '', ipType: readIpType(read, 'PUBLIC') },
      instanceName,
      name: dbName,
      user,
      tier:
        read.matching('database.tier', /^db-[a-z0-9-]+$/, 'a Cloud SQL tier such as db-custom-1-3840') ??
        'db-custom-1-3840',
      diskSizeGb: read.integer('database.diskSizeGb', 10, 65536) ?? 10,
      databaseVersion: version,
      highAvailability: read.boolean('database.highAvailability') ?? false,
      deletionProtection: read.boolean('database.deletionProtection') ?? true,
    };
  }
  const host = read.string('database.host');
  const knowsInstance = read.has('database.instance');
  if (host === undefined && !knowsInstance) {
    fail(
      `${label('database.host')} is required with database.mode existing: the ENX database host, or set ${label('database.mode')} to cloud-sql`,
    );
  }
  const passwordSecretId = read.matching(
    'database.passwordSecretId',
    SECRET_ID,
    'a Secret Manager secret id',
  );
  const instanceConnectionName = read.matching(
    'database.instance',
    CONNECTION_NAME,
    'a Cloud SQL connection name, project:region:instance',
  );
  const connector =
    read.oneOf('database.connector', ['cloud-sql-connector', 'direct'] as const) ??
    (instanceConnectionName ? 'cloud-sql-connector' : 'direct');
  if (connector === 'cloud-sql-connector' && !instanceConnectionName) {
    fail(
      `${label('database.connector')} cloud-sql-connector needs ${label('database.instance')}: the connection name project:region:instance`,
    );
  }
  return {
    mode,
    connection:
      connector === 'cloud-sql-connector'
        ? { kind: connector, instance: instanceConnectionName ?? '', ipType: readIpType(read, 'PRIVATE') }
        : { kind: 'direct' },
    host: host ?? '',
    port: read.integer('database.port', 1, 65535) ?? 5432,
    name: dbName,
    user,
    sslMode:
      read.oneOf('database.sslMode', ['disable', 'require', 'verify-ca', 'verify-full'] as const) ??
      (host?.startsWith('/cloudsql/') ? 'disable' : 'require'),
    ...(passwordSecretId ? { passwordSecretId } : {}),
    ...(instanceConnectionName ? { instanceConnectionName } : {}),
  };
}

function readIpType(read: Reader, fallback: 'PUBLIC' | 'PRIVATE'): 'PUBLIC' | 'PRIVATE' | 'PSC' {
  return read.oneOf('database.ipType', ['PUBLIC', 'PRIVATE', 'PSC'] as const) ?? fallback;
}

export interface SettingsSources {
  /** The parsed settings file, if any, and how to name it in messages. */
  readonly file?: { readonly name: string; readonly content: unknown };
  readonly env: Env;
}

/** Validates settings from their sources; throws one InfraSettingsError listing every problem. */
export function parseSettings(sources: SettingsSources): InfraSettings {
  const problems: string[] = [];
  const fileName = sources.file?.name ?? '';
  let shared: Flat = new Map();
  let sections: [string, Flat][] = [];
  if (sources.file) {
    const content = sources.file.content;
    if (!isPlainObject(content)) {
      throw new InfraSettingsError([`${fileName}: must hold a JSON object of settings`]);
    }
    const { environments, ...top } = content;
    shared = flattenFile(top, fileName, problems);
    if (environments !== undefined) {
      if (!isPlainObject(environments)) {
        problems.push(`${fileName}: "environments" must be an object of environment name to settings`);
      } else {
        sections = Object.entries(environments).map(([name, section]) => {
          if (!isPlainObject(section)) {
            problems.push(`${fileName}: environments.${name} must be an object of settings`);
            return [name, new Map()];
          }
          return [name, flattenFile(section, `${fileName} environments.${name}`, problems)];
        });
      }
    }
  }
  const fromEnv = flattenEnv(sources.env, problems);
  const named = sections.length > 0;
  if (sections.length === 0)
    sections = [[sources.env[ENVIRONMENT_ENV]?.trim() || DEFAULT_ENVIRONMENT, new Map()]];

  const environments: EnvironmentSettings[] = [];
  for (const [name, section] of sections) {
    const prefix = named ? `environments.${name}: ` : '';
    if (!ENVIRONMENT_NAME.test(name)) {
      problems.push(
        `${prefix}"${name}" is not an environment name: up to 20 lowercase letters, digits or hyphens, starting with a letter`,
      );
    }
    const flat: Flat = new Map([...shared, ...fromEnv, ...section]);
    environments.push(readEnvironment(name, flat, problems, prefix));
  }

  const byProject = new Map<string, string[]>();
  for (const environment of environments) {
    if (environment.projectId === '') continue;
    byProject.set(environment.projectId, [...(byProject.get(environment.projectId) ?? []), environment.name]);
  }
  for (const [project, names] of byProject) {
    if (names.length > 1) {
      problems.push(
        `environments ${names.join(', ')} share project ${project}: every environment needs a project of its own (the resource names are the job ids)`,
      );
    }
  }
  if (problems.length > 0) throw new InfraSettingsError(problems);
  return { environments };
}

/**
 * Reads the settings of a real run: the file named by ENX_INFRA_SETTINGS_FILE (relative to `cwd`),
 * then ENX_INFRA_* variables.
 */
export function loadSettings(env: Env, cwd: string): InfraSettings {
  const filePath = env[SETTINGS_FILE_ENV]?.trim();
  if (!filePath) return parseSettings({ env });
  let text: string;
  try {
    text = readFileSync(path.resolve(cwd, filePath), 'utf8');
  } catch (error) {
    throw new InfraSettingsError([
      `${SETTINGS_FILE_ENV}: cannot read ${filePath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    ]);
  }
  let content: unknown;
  try {
    content = JSON.parse(text) as unknown;
  } catch (error) {
    throw new InfraSettingsError([`${filePath}: is not valid JSON (${(error as Error).message})`]);
  }
  return parseSettings({ file: { name: filePath, content }, env });
}
