/**
 * The environment of each function, derived from the configuration declarations in functions/:
 * the runtime's settings (functions/core/runtime-config.ts) and the job's own schema
 * (spec.config). Infra never names a job; it reads which variables a job declares, which are
 * secrets, and which are required, and fills them from three places:
 *
 * 1. values it manages itself (project, region, OIDC audience and invoker, database, signals sink);
 * 2. resources it creates, by variable name (PROVIDED_ENV below: the token-signing key, the realm
 *    key ring, the backup bucket ...), given only to jobs whose schema declares the variable;
 * 3. the operator's settings (`env` for every function, `jobEnv.<job id>` for one job).
 *
 * A variable left unset keeps the default its declaration documents; a required one with no value
 * is a settings error. Secret variables come from Secret Manager (secret_environment_variables),
 * never from settings.
 */
import type { Field } from '../functions/core/config';
import type { JobSpec } from '../functions/core/job-spec';
import { runtimeConfig } from '../functions/core/runtime-config';
import { catalog } from '../functions/catalog';
import { secretIdFor } from './naming';
import type { EnvironmentSettings } from './settings';

/** The catalog jobs a deployment runs: all but its omittedJobs. */
export function deployedJobs(settings: EnvironmentSettings): readonly JobSpec[] {
  return (catalog as readonly JobSpec[]).filter((spec) => !settings.omittedJobs.includes(spec.id));
}

/** Runtime variables infra sets from the deployment itself; the settings may not override them. */
export const MANAGED_ENV: readonly string[] = [
  'AUTH_MODE',
  'DATABASE_URL',
  'DB_HOST',
  'DB_NAME',
  'DB_PASSWORD',
  'DB_PORT',
  'DB_SSLMODE',
  'DB_USER',
  'GOOGLE_CLOUD_PROJECT',
  'GOOGLE_CLOUD_REGION',
  'DATABASE_EXPORT',
  'K_SERVICE',
  'KEY_MANAGER',
  'KMS_API_ENDPOINT',
  'MONITORING_API_ENDPOINT',
  'OIDC_AUDIENCE',
  'OIDC_INVOKER_EMAILS',
  'SECRET_MANAGER',
  'SECRET_MANAGER_API_ENDPOINT',
  'SIGNALS_SINK',
  'SQLADMIN_API_ENDPOINT',
];

/** The runtime variable whose secret holds the database password. */
export const DB_PASSWORD_ENV = 'DB_PASSWORD';

/** Addresses of what infra creates; strings or Terraform tokens. */
export interface FleetResources {
  readonly tokenSigningKey: string;
  /** The system certificate-signing key's version: what stats-puller-worker signs with. */
  readonly certificateSigningKeyVersion: string;
  readonly realmKeyRing: string;
  readonly backupBucket: string;
  /** The Cloud SQL instance's self link, when infra knows the instance. */
  readonly databaseInstanceUrl?: string;
}

/**
 * Job settings infra fills from its own resources, by the variable names the original server used
 * (reference/enx-jobs.md). A job receives one only if its schema declares it.
 */
export function providedEnv(
  settings: EnvironmentSettings,
  resources: FleetResources,
): Record<string, string> {
  return {
    TOKEN_SIGNING_KEY: resources.tokenSigningKey,
    CERTIFICATE_SIGNING_KEY: resources.certificateSigningKeyVersion,
    DB_KEYRING: resources.realmKeyRing,
    SECRETS_PARENT: `projects/${settings.projectId}/secrets`,
    BACKUP_BUCKET: resources.backupBucket,
    BACKUP_DATABASE_NAME: settings.database.name,
    OMITTED_JOBS: settings.omittedJobs.join(','),
    ...(resources.databaseInstanceUrl ? { BACKUP_DATABASE_INSTANCE_URL: resources.databaseInstanceUrl } : {}),
  };
}

/** Provided variables infra can fill only when a setting tells it more: what to set. */
const PROVIDED_WHEN: Readonly<Record<string, string>> = {
  BACKUP_DATABASE_INSTANCE_URL:
    'set database.instance (ENX_INFRA_DB_INSTANCE) to the Cloud SQL connection name project:region:instance',
};

/** The instance URL the Cloud SQL Admin API exports from, for an instance named by its connection name. */
export function instanceUrlFromConnectionName(connectionName: string): string {
  const [project, , instance] = connectionName.split(':');
  return `https://sqladmin.googleapis.com/sql/v1beta4/projects/${project}/instances/${instance}`;
}

function providedNames(settings: EnvironmentSettings): Set<string> {
  const knowsInstance =
    settings.database.mode === 'cloud-sql' || settings.database.instanceConnectionName !== undefined;
  return new Set(
    Object.keys(
      providedEnv(settings, {
        tokenSigningKey: '-',
        certificateSigningKeyVersion: '-',
        realmKeyRing: '-',
        backupBucket: '-',
        ...(knowsInstance ? { databaseInstanceUrl: '-' } : {}),
      }),
    ),
  );
}

const runtimeFields: readonly Field<unknown>[] = runtimeConfig.fields;

function fieldProblem(field: Field<unknown>, value: string): string | undefined {
  try {
    field.parse(value);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Every problem of the `env` and `jobEnv` settings against the declarations, as sentences. */
export function jobEnvProblems(settings: EnvironmentSettings): string[] {
  const problems: string[] = [];
  const overridable = runtimeFields.filter((field) => !MANAGED_ENV.includes(field.env));
  const check = (where: string, name: string, value: string, fields: readonly Field<unknown>[]) => {
    if (MANAGED_ENV.includes(name)) {
      problems.push(`${where}.${name}: is set by infra from the deployment; remove it`);
      return;
    }
    const field = fields.find((candidate) => candidate.env === name);
    if (!field) {
      const owners = catalog
        .filter((spec) => spec.config.fields.some((f) => f.env === name))
        .map((spec) => spec.id);
      problems.push(
        owners.length > 0
          ? `${where}.${name}: is a setting of ${owners.join(', ')}; set it in jobEnv.<job id>`
          : `${where}.${name}: no function reads it; the settings are ${fields.map((f) => f.env).join(', ')}`,
      );
    } else if (field.secret) {
      if (secretReference(value) === undefined) {
        problems.push(
          `${where}.${name}: is a secret; name the Secret Manager secret that holds it (secret:<secret id>), never the value`,
        );
      }
    } else {
      const problem = fieldProblem(field, value);
      if (problem) problems.push(`${where}.${name}: ${problem}`);
    }
  };
  for (const [name, value] of Object.entries(settings.env)) check('env', name, value, overridable);

  const provided = providedNames(settings);
  for (const spec of deployedJobs(settings)) {
    const jobVars = settings.jobEnv[spec.id] ?? {};
    for (const [name, value] of Object.entries(jobVars)) {
      check(`jobEnv.${spec.id}`, name, value, [...overridable, ...spec.config.fields]);
    }
    for (const field of spec.config.fields) {
      const missing =
        field.defaultText === undefined &&
        !field.secret &&
        !provided.has(field.env) &&
        jobVars[field.env] === undefined &&
        settings.env[field.env] === undefined;
      if (missing) {
        const fix = PROVIDED_WHEN[field.env] ?? `set it in jobEnv.${spec.id}`;
        problems.push(
          `jobEnv.${spec.id}.${field.env}: is required (${field.doc}) and infra has no value for it; ${fix}, or leave ${spec.id} out with omittedJobs`,
        );
      }
    }
  }
  return problems;
}

export interface SecretEnv {
  readonly env: string;
  readonly secretId: string;
}

/** The secret holding the database password: an existing one named in settings, or enx-db-password. */
export function databasePasswordSecretId(settings: EnvironmentSettings): string {
  return (
    (settings.database.mode === 'existing' && settings.database.passwordSecretId) ||
    secretIdFor(DB_PASSWORD_ENV)
  );
}

/** `secret:<id>`: how settings name the Secret Manager secret behind a secret variable. */
export function secretReference(value: string): string | undefined {
  return /^secret:([A-Za-z0-9_-]{1,255})$/.exec(value)?.[1];
}

/**
 * The secrets a job reads: the database password, every required secret field (in a secret infra
 * creates, enx-<name>, whose value the operator adds), and each optional one the settings point at
 * an existing secret (`jobEnv.<job>.<NAME>: "secret:<id>"`). An optional secret nobody set is not
 * mounted: Cloud Run refuses to start a revision whose secret has no version, and the field's
 * default (say, no Redis password) is what such a deployment means.
 */
export function jobSecrets(
  spec: JobSpec,
  settings: EnvironmentSettings,
): (SecretEnv & { managed: boolean })[] {
  const database = databasePasswordSecretId(settings);
  const secrets = [
    { env: DB_PASSWORD_ENV, secretId: database, managed: database === secretIdFor(DB_PASSWORD_ENV) },
  ];
  for (const field of spec.config.fields) {
    if (!field.secret) continue;
    const chosen = settings.jobEnv[spec.id]?.[field.env] ?? settings.env[field.env];
    const existing = chosen === undefined ? undefined : secretReference(chosen);
    if (existing !== undefined) secrets.push({ env: field.env, secretId: existing, managed: false });
    else if (field.defaultText === undefined)
      secrets.push({ env: field.env, secretId: secretIdFor(field.env), managed: true });
  }
  return secrets;
}

/** Every secret of the fleet once, and whether infra creates it (not when settings name an existing one). */
export function fleetSecrets(settings: EnvironmentSettings): { secretId: string; managed: boolean }[] {
  const ids = new Map<string, boolean>();
  for (const spec of deployedJobs(settings)) {
    for (const secret of jobSecrets(spec, settings)) {
      ids.set(secret.secretId, (ids.get(secret.secretId) ?? false) || secret.managed);
    }
  }
  return [...ids.keys()].sort().map((secretId) => ({ secretId, managed: ids.get(secretId) === true }));
}

export interface DatabaseEnv {
  readonly host: string;
  readonly port: number;
  readonly name: string;
  readonly user: string;
  readonly sslMode: string;
  /** Set when the functions go through the Cloud SQL Node.js Connector. */
  readonly cloudSql?: { readonly instance: string; readonly ipType: string };
}

export interface JobEnvInputs {
  readonly settings: EnvironmentSettings;
  readonly provided: Readonly<Record<string, string>>;
  readonly audience: string;
  readonly invokerEmail: string;
  readonly database: DatabaseEnv;
}

/** The database's address as the runtime reads it: the connector's instance, or a host. */
function databaseVariables(database: DatabaseEnv): Record<string, string> {
  const common = { DB_NAME: database.name, DB_USER: database.user };
  if (database.cloudSql) {
    return {
      ...common,
      CLOUD_SQL_INSTANCE: database.cloudSql.instance,
      CLOUD_SQL_IP_TYPE: database.cloudSql.ipType,
    };
  }
  return { ...common, DB_HOST: database.host, DB_PORT: String(database.port), DB_SSLMODE: database.sslMode };
}

/** The plain environment variables of one job's function, in a stable order. */
export function jobPlainEnv(spec: JobSpec, inputs: JobEnvInputs): Record<string, string> {
  const { settings } = inputs;
  const declared = new Set(spec.config.fields.map((field) => field.env));
  const env: Record<string, string> = {
    AUTH_MODE: 'oidc',
    OIDC_AUDIENCE: inputs.audience,
    OIDC_INVOKER_EMAILS: inputs.invokerEmail,
    SIGNALS_SINK: 'cloud-monitoring',
    GOOGLE_CLOUD_PROJECT: settings.projectId,
    GOOGLE_CLOUD_REGION: settings.region,
    KEY_MANAGER: settings.keyManager,
    // The local secret store and export are refused on Cloud Run, so there is nothing to choose.
    SECRET_MANAGER: 'google-secret-manager',
    DATABASE_EXPORT: 'cloud-sql',
    ...databaseVariables(inputs.database),
    ...settings.env,
  };
  for (const [name, value] of Object.entries(inputs.provided)) {
    if (declared.has(name)) env[name] = value;
  }
  Object.assign(env, settings.jobEnv[spec.id] ?? {});
  // A secret's setting is a reference (secret:<id>); the value is mounted from Secret Manager.
  for (const secret of jobSecrets(spec, settings)) delete env[secret.env];
  return Object.fromEntries(Object.entries(env).sort(([a], [b]) => a.localeCompare(b)));
}
