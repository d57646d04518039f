import { catalog } from '../../functions/catalog';
import type { JobSpec } from '../../functions/core/job-spec';
import { REQUIRED_APIS } from '../../infra/constructs/project-services';
import { BASE_JOB_ROLES } from '../../infra/constructs/scheduled-job';
import { CUSTOM_ROLES, projectRole } from '../../infra/custom-roles';
import {
  functionUrl,
  invokerAccountId,
  jobLogQuery,
  runtimeAccountId,
  serviceAccountId,
  snake,
} from '../../infra/naming';
import type { Json } from './support';
import {
  addressOf,
  BASE_ENV,
  dataSources,
  removeScratch,
  resources,
  settingsFrom,
  synth,
  synthAll,
} from './support';

const settingsEnvJobEnv = (): string => BASE_ENV.ENX_INFRA_JOB_ENV;

const jobs = catalog as readonly JobSpec[];
const PROJECT = 'enx-test-project';
const REGION = 'europe-west1';

/** Values a careless stack could copy into its output; none may appear. */
const FAKE_SECRETS = ['hunter2-db-password', 'pd-service-key-0451', 'xoxb-slack-token-0451'];

afterAll(removeScratch);

describe('a synthesized environment', () => {
  let json: Json;
  let text: string;

  beforeAll(() => {
    process.env.DB_PASSWORD = FAKE_SECRETS[0];
    process.env.TF_VAR_pagerduty_key = FAKE_SECRETS[1];
    ({ json, text } = synth(
      settingsFrom({
        ENX_INFRA_PAGERDUTY_SERVICE_KEY: 'var:pagerduty_key',
        ENX_INFRA_SLACK_CHANNEL: '#enx',
        ENX_INFRA_SLACK_AUTH_TOKEN: 'secret:slack-token',
      }),
    ));
  });

  afterAll(() => {
    delete process.env.DB_PASSWORD;
    delete process.env.TF_VAR_pagerduty_key;
  });

  const functionOf = (id: string) =>
    resources(json, 'google_cloudfunctions2_function').find((f) => f.name === id);
  const schedulerOf = (id: string) =>
    resources(json, 'google_cloud_scheduler_job').find((s) => s.name === id);
  const accountRef = (accountId: string, attribute: string) =>
    `\${${addressOf(json, 'google_service_account', (sa) => sa.account_id === accountId)}.${attribute}}`;

  it('has exactly one function and one scheduler job per catalog job', () => {
    expect(
      resources(json, 'google_cloudfunctions2_function')
        .map((f) => f.name)
        .sort(),
    ).toEqual(jobs.map((job) => job.id).sort());
    expect(
      resources(json, 'google_cloud_scheduler_job')
        .map((s) => s.name)
        .sort(),
    ).toEqual(jobs.map((job) => job.id).sort());
  });

  describe.each(jobs.map((job) => [job.id, job] as const))('job %s', (id, job) => {
    it('runs its entry point on nodejs24 from its own archive, as its own account, through the VPC connector', () => {
      const fn = functionOf(id);
      expect(fn).toMatchObject({
        location: REGION,
        build_config: { entry_point: id, runtime: 'nodejs24' },
        service_config: {
          vpc_connector: BASE_ENV.ENX_INFRA_VPC_CONNECTOR,
          vpc_connector_egress_settings: 'PRIVATE_RANGES_ONLY',
          available_memory: `${job.memoryMb}Mi`,
          max_instance_request_concurrency: 1,
          ingress_settings: 'ALLOW_ALL',
          service_account_email: accountRef(runtimeAccountId(id), 'email'),
        },
      });
      // Its own archive, not another job's.
      const object = String(fn?.build_config.source.storage_source.object);
      const address = object.match(/google_storage_bucket_object\.([^.]+)\./)?.[1] ?? '';
      expect(json.resource.google_storage_bucket_object[address].name).toMatch(
        new RegExp(`^functions/${id}/`),
      );
    });

    it('is called by the scheduler on the catalog schedule, deadline and retry policy', () => {
      const url = functionUrl(PROJECT, REGION, id);
      expect(schedulerOf(id)).toMatchObject({
        region: REGION,
        schedule: job.schedule.cron,
        time_zone: job.schedule.timeZone,
        attempt_deadline: `${job.attemptDeadlineMs / 1000}s`,
        retry_config: {
          retry_count: job.retry.retryCount,
          min_backoff_duration: `${job.retry.minBackoffMs / 1000}s`,
          max_backoff_duration: `${job.retry.maxBackoffMs / 1000}s`,
          max_doublings: job.retry.maxDoublings,
          max_retry_duration: `${job.retry.maxRetryDurationMs / 1000}s`,
        },
        http_target: {
          http_method: job.httpMethod,
          uri: url,
          oidc_token: { audience: url, service_account_email: accountRef(invokerAccountId(id), 'email') },
        },
        paused: false,
      });
    });

    it('never lets the scheduler wait longer than the function may run', () => {
      const deadlineSeconds = Number(String(schedulerOf(id)?.attempt_deadline).replace(/s$/, ''));
      expect(deadlineSeconds).toBeLessThanOrEqual(functionOf(id)?.service_config.timeout_seconds);
      expect(deadlineSeconds).toBeGreaterThanOrEqual(15);
      expect(deadlineSeconds).toBeLessThanOrEqual(1800);
    });

    it('expects tokens for its own URL from its own invoker only', () => {
      const env = functionOf(id)?.service_config.environment_variables;
      expect(env).toMatchObject({
        AUTH_MODE: 'oidc',
        OIDC_AUDIENCE: schedulerOf(id)?.http_target.oidc_token.audience,
        OIDC_INVOKER_EMAILS: schedulerOf(id)?.http_target.oidc_token.service_account_email,
        SIGNALS_SINK: 'cloud-monitoring',
        GOOGLE_CLOUD_PROJECT: PROJECT,
        GOOGLE_CLOUD_REGION: REGION,
        KEY_MANAGER: 'google-cloud-kms',
        // The database path: the Cloud SQL connector to the instance's private address.
        CLOUD_SQL_INSTANCE: 'enx-test-project:europe-west1:enx-db',
        CLOUD_SQL_IP_TYPE: 'PRIVATE',
      });
      expect(env).not.toHaveProperty('DB_HOST');
      const invoker = resources(json, 'google_cloud_run_v2_service_iam_member').filter(
        (binding) => binding.member === accountRef(invokerAccountId(id), 'member'),
      );
      expect(invoker).toHaveLength(1);
      expect(invoker[0]).toMatchObject({ role: 'roles/run.invoker', location: REGION });
      expect(invoker[0].name).toMatch(/google_cloudfunctions2_function\..*\.service_config\[0\]\.service/);
    });

    it('gives every required setting of its schema a value', () => {
      const env = functionOf(id)?.service_config.environment_variables ?? {};
      const secrets = (functionOf(id)?.service_config.secret_environment_variables ?? []).map(
        (s: Json) => s.key,
      );
      for (const field of job.config.fields) {
        if (field.defaultText === undefined) expect([...Object.keys(env), ...secrets]).toContain(field.env);
      }
    });

    it('holds only the base roles, its catalog roles and its own secrets', () => {
      const member = accountRef(runtimeAccountId(id), 'member');
      const roles = resources(json, 'google_project_iam_member')
        .filter((binding) => binding.member === member)
        .map((binding) => binding.role)
        .sort();
      expect(roles).toEqual(
        [...BASE_JOB_ROLES, ...job.roles].map((role) => projectRole(role, PROJECT)).sort(),
      );
      const secretIds = resources(json, 'google_secret_manager_secret_iam_member')
        .filter((binding) => binding.member === member)
        .map((binding) => binding.secret_id);
      const mounted = functionOf(id)?.service_config.secret_environment_variables.map((s: Json) => s.secret);
      expect(secretIds.sort()).toEqual([...mounted].sort());
      for (const binding of resources(json, 'google_secret_manager_secret_iam_member')) {
        expect(binding.role).toBe('roles/secretmanager.secretAccessor');
      }
      // The invoker may call its function and nothing else.
      const invokerMember = accountRef(invokerAccountId(id), 'member');
      expect(resources(json, 'google_project_iam_member').filter((b) => b.member === invokerMember)).toEqual(
        [],
      );
    });

    it('has an output with its Logs Explorer query and console link', () => {
      expect(json.output[`job_${snake(id)}`].value).toMatchObject({
        logs_query: jobLogQuery(id),
        logs_explorer_url: expect.stringContaining(
          encodeURIComponent(`resource.labels.service_name="${id}"`),
        ),
        function_console_url: expect.stringContaining(`/functions/details/${REGION}/${id}?`),
      });
    });
  });

  it('creates each custom role a job uses, with only its permissions', () => {
    const used = new Set(
      jobs
        .flatMap((job) => [...job.roles, ...(job.kmsGrants ?? []).map((grant) => grant.role)])
        .filter((role) => role in CUSTOM_ROLES),
    );
    expect(used.size).toBeGreaterThan(0);
    expect(resources(json, 'google_project_iam_custom_role')).toEqual(
      Object.keys(CUSTOM_ROLES)
        .filter((name) => used.has(name))
        .map((name) =>
          expect.objectContaining({
            project: PROJECT,
            role_id: CUSTOM_ROLES[name].roleId,
            permissions: [...CUSTOM_ROLES[name].permissions],
          }),
        ),
    );
    expect(resources(json, 'google_project_iam_member').map((binding) => binding.role)).not.toContain(
      'roles/cloudsql.viewer',
    );
  });

  it('grants KMS roles on the key or key ring a job uses, never on the project', () => {
    const projectRoles = resources(json, 'google_project_iam_member').map((binding) => String(binding.role));
    expect(projectRoles.filter((role) => role.startsWith('roles/cloudkms.'))).toEqual([]);
    const keyGrants = resources(json, 'google_kms_crypto_key_iam_member');
    const ringGrants = resources(json, 'google_kms_key_ring_iam_member');
    const member = (id: string) => accountRef(runtimeAccountId(id), 'member');
    const onKey = (id: string, key: string) =>
      keyGrants.filter((g) => g.member === member(id) && String(g.crypto_key_id).includes(key));
    expect(onKey('cleanup-worker', 'token-signing-hsm')).toHaveLength(1);
    expect(onKey('rotation-worker', 'token-signing-hsm')).toHaveLength(1);
    expect(onKey('stats-puller-worker', 'certificate-signing-hsm')[0]?.role).toBe(
      'roles/cloudkms.signerVerifier',
    );
    expect(ringGrants.filter((g) => g.member === member('realm-key-rotation-worker'))).toHaveLength(1);
    // No grant at all for jobs that never touch a key.
    expect([...keyGrants, ...ringGrants].filter((g) => g.member === member('appsync-worker'))).toEqual([]);
  });

  it('lets the secret rotator touch only the secrets it rotates', () => {
    const rotator = resources(json, 'google_project_iam_member').find((binding) =>
      String(binding.role).endsWith('/roles/enxJobsSecretRotator'),
    );
    expect(rotator?.condition.expression).toContain('/secrets/db-apikey-db-hmac"');
    expect(rotator?.condition.expression).not.toContain('enx-db-password');
    expect(rotator?.condition.expression).toMatch(/data\.google_project\..*\.number/);
  });

  it('waits for IAM grants to propagate before the builds and first revisions', () => {
    const sleeps = Object.keys(json.resource.time_sleep ?? {});
    for (const fn of resources(json, 'google_cloudfunctions2_function')) {
      expect(fn.depends_on).toEqual(
        expect.arrayContaining([expect.stringMatching(/^time_sleep\.shared_builder-grants-propagated/)]),
      );
      const own = fn.depends_on.filter((d: string) => d.startsWith('time_sleep.') && !d.includes('builder'));
      expect(own).toHaveLength(1);
      expect(sleeps).toContain(own[0].replace('time_sleep.', ''));
    }
    expect(json.resource.time_sleep[sleeps[0]].create_duration).toBe('120s');
  });

  it('reads the database password from Secret Manager, never from the configuration', () => {
    expect(resources(json, 'google_secret_manager_secret').map((s) => s.secret_id)).toContain(
      'enx-db-password',
    );
    // A value infra cannot make up gets a placeholder the runtime refuses by name, never a value.
    for (const version of resources(json, 'google_secret_manager_secret_version')) {
      expect(version.secret_data).toMatch(/^enx-jobs:unset:enx-/);
      expect(version.lifecycle.ignore_changes).toContain('secret_data');
    }
    for (const fn of resources(json, 'google_cloudfunctions2_function')) {
      expect(fn.service_config.secret_environment_variables).toContainEqual({
        key: 'DB_PASSWORD',
        project_id: PROJECT,
        secret: expect.stringMatching(/google_secret_manager_secret\..*\.secret_id/),
        version: 'latest',
      });
      expect(fn.service_config.environment_variables.DB_PASSWORD).toBeUndefined();
    }
  });

  it('enables every API it needs, before the resources that call them', () => {
    expect(
      resources(json, 'google_project_service')
        .map((s) => s.service)
        .sort(),
    ).toEqual([...REQUIRED_APIS].sort());
    for (const type of [
      'google_cloudfunctions2_function',
      'google_cloud_scheduler_job',
      'google_monitoring_alert_policy',
    ]) {
      for (const body of resources(json, type)) {
        expect(body.depends_on).toEqual(
          expect.arrayContaining([expect.stringMatching(/^google_project_service\./)]),
        );
      }
    }
  });

  it('declares HSM signing keys, versioned backups and a private source bucket', () => {
    const signingKey = (name: string) =>
      expect.objectContaining({
        name,
        purpose: 'ASYMMETRIC_SIGN',
        version_template: { algorithm: 'EC_SIGN_P256_SHA256', protection_level: 'HSM' },
        lifecycle: { prevent_destroy: true },
      });
    const keys = resources(json, 'google_kms_crypto_key');
    expect(keys).toHaveLength(2);
    expect(keys).toEqual(
      expect.arrayContaining([signingKey('token-signing-hsm'), signingKey('certificate-signing-hsm')]),
    );
    const source = resources(json, 'google_storage_bucket').find(
      (b) => b.name === `${PROJECT}-enx-jobs-source`,
    );
    expect(source?.lifecycle_rule).toEqual([{ action: { type: 'Delete' }, condition: { age: 30 } }]);
    expect(
      resources(json, 'google_kms_key_ring')
        .map((ring) => ring.name)
        .sort(),
    ).toEqual(['enx-jobs', 'enx-jobs-realms']);
    const backups = resources(json, 'google_storage_bucket').find(
      (b) => b.name === `${PROJECT}-enx-jobs-backups`,
    );
    expect(backups).toMatchObject({
      versioning: { enabled: true },
      public_access_prevention: 'enforced',
      lifecycle_rule: [
        { action: { type: 'Delete' }, condition: { age: 30 } },
        { action: { type: 'Delete' }, condition: { days_since_noncurrent_time: 7, with_state: 'ARCHIVED' } },
      ],
    });
    // One source archive per function, each from its own folder of the build.
    const objects = resources(json, 'google_storage_bucket_object');
    expect(objects).toHaveLength(catalog.length);
    for (const spec of catalog) {
      const object = objects.find((candidate) => String(candidate.name).startsWith(`functions/${spec.id}/`));
      expect(object?.source).toMatch(
        new RegExp(`^assets/job-${spec.id}_function-source_[0-9A-F]+/[0-9A-F]{32}/archive\\.zip$`),
      );
    }
  });

  it('sends alerts to every channel of the settings, secrets by reference only', () => {
    const channels = resources(json, 'google_monitoring_notification_channel');
    expect(channels.map((c) => c.type).sort()).toEqual(['email', 'pagerduty', 'slack']);
    expect(channels.find((c) => c.type === 'pagerduty')?.sensitive_labels.service_key).toBe(
      '${var.pagerduty_key}',
    );
    expect(json.variable.pagerduty_key).toMatchObject({ sensitive: true, type: 'string' });
    expect(dataSources(json, 'google_secret_manager_secret_version')).toEqual([
      expect.objectContaining({ secret: 'slack-token' }),
    ]);
  });

  it('carries no absolute path and no secret value', () => {
    expect(text).not.toMatch(/\/work\/|\/tmp\/|\/home\/|\/root\/|[A-Z]:\\\\/);
    for (const secret of FAKE_SECRETS) expect(text).not.toContain(secret);
    expect(json.terraform.backend).toEqual({ local: { path: '../../../terraform.production.tfstate' } });
  });
});

describe('settings that change the stack', () => {
  it('leaves an omitted job out entirely and tells the watchdog not to expect it', () => {
    const { json } = synth(settingsFrom({ ENX_INFRA_OMITTED_JOBS: 'e2e-redirect' }));
    const names = (type: string) => resources(json, type).map((body) => body.name as string);
    expect(names('google_cloudfunctions2_function')).not.toContain('e2e-redirect');
    expect(names('google_cloud_scheduler_job')).not.toContain('e2e-redirect');
    expect(names('google_cloudfunctions2_function')).toHaveLength(jobs.length - 1);
    // The runbooks name every job, but no per-job link or condition is made for an omitted one.
    expect(JSON.stringify(resources(json, 'google_monitoring_alert_policy'))).not.toContain(
      encodeURIComponent('service_name="e2e-redirect"'),
    );
    expect(JSON.stringify(json.output)).not.toContain('e2e_redirect');
    const watchdog = resources(json, 'google_cloudfunctions2_function').find(
      (f) => f.name === 'fleet-watchdog',
    );
    expect(watchdog?.service_config.environment_variables.OMITTED_JOBS).toBe('e2e-redirect');
  });

  it('leaves e2e-user-report out the same way, for a realm that takes no admin-issued user reports', () => {
    const { json } = synth(settingsFrom({ ENX_INFRA_OMITTED_JOBS: 'e2e-user-report' }));
    const names = (type: string) => resources(json, type).map((body) => body.name as string);
    expect(names('google_cloudfunctions2_function')).not.toContain('e2e-user-report');
    expect(names('google_cloud_scheduler_job')).not.toContain('e2e-user-report');
    expect(names('google_cloudfunctions2_function')).toContain('e2e-default');
    const watchdog = resources(json, 'google_cloudfunctions2_function').find(
      (f) => f.name === 'fleet-watchdog',
    );
    expect(watchdog?.service_config.environment_variables.OMITTED_JOBS).toBe('e2e-user-report');
  });

  it('mounts an optional secret only when the settings name the secret that holds it', () => {
    const mounted = (json: Json) =>
      resources(json, 'google_cloudfunctions2_function')
        .find((f) => f.name === 'modeler-worker')
        ?.service_config.secret_environment_variables.map((s: Json) => s.key);
    expect(mounted(synth(settingsFrom()).json)).toEqual(['DB_PASSWORD']);
    const { json } = synth(
      settingsFrom({
        ENX_INFRA_JOB_ENV: JSON.stringify({
          ...JSON.parse(settingsEnvJobEnv()),
          'modeler-worker': { RATE_LIMIT_TYPE: 'REDIS', RATE_LIMIT_HMAC_KEY: 'secret:server-rate-limit-key' },
        }),
      }),
    );
    expect(mounted(json)).toEqual(['DB_PASSWORD', 'RATE_LIMIT_HMAC_KEY']);
    const fn = resources(json, 'google_cloudfunctions2_function').find((f) => f.name === 'modeler-worker');
    expect(fn?.service_config.environment_variables.RATE_LIMIT_HMAC_KEY).toBeUndefined();
    expect(fn?.service_config.secret_environment_variables).toContainEqual(
      expect.objectContaining({ key: 'RATE_LIMIT_HMAC_KEY', secret: 'server-rate-limit-key' }),
    );
    // An existing secret is referenced, not created.
    expect(resources(json, 'google_secret_manager_secret').map((s) => s.secret_id)).not.toContain(
      'server-rate-limit-key',
    );
    expect(() =>
      settingsFrom({
        ENX_INFRA_JOB_ENV: JSON.stringify({
          ...JSON.parse(settingsEnvJobEnv()),
          'modeler-worker': { RATE_LIMIT_HMAC_KEY: 'c2VjcmV0' },
        }),
      }),
    ).toThrow(/RATE_LIMIT_HMAC_KEY: is a secret; name the Secret Manager secret that holds it/);
  });

  it('creates a Cloud SQL instance whose password comes from a sensitive variable', () => {
    const { json } = synth(
      settingsFrom({
        ENX_INFRA_DB_MODE: 'cloud-sql',
        ENX_INFRA_DB_HOST: '',
        ENX_INFRA_DB_INSTANCE: undefined,
      }),
    );
    expect(resources(json, 'google_sql_database_instance')).toEqual([
      expect.objectContaining({
        name: 'enx-production',
        database_version: 'POSTGRES_16',
        deletion_protection: true,
        settings: expect.objectContaining({ tier: 'db-custom-1-3840', availability_type: 'ZONAL' }),
      }),
    ]);
    expect(resources(json, 'google_sql_user')[0].password).toBe('${var.db_password}');
    expect(resources(json, 'google_secret_manager_secret_version')[0].secret_data).toBe('${var.db_password}');
    expect(json.variable.db_password).toMatchObject({ sensitive: true });
    const fn = resources(json, 'google_cloudfunctions2_function')[0];
    expect(fn.service_config.environment_variables).toMatchObject({
      CLOUD_SQL_INSTANCE: expect.stringMatching(/^\$\{google_sql_database_instance\..*\.connection_name\}$/),
      CLOUD_SQL_IP_TYPE: 'PUBLIC',
    });
    expect(resources(json, 'google_storage_bucket_iam_member')).toContainEqual(
      expect.objectContaining({ role: 'roles/storage.objectAdmin' }),
    );
  });

  it('binds an existing password secret without creating it', () => {
    const { json } = synth(settingsFrom({ ENX_INFRA_DB_PASSWORD_SECRET: 'server-db-password' }));
    expect(resources(json, 'google_secret_manager_secret').map((s) => s.secret_id)).not.toContain(
      'server-db-password',
    );
    expect(resources(json, 'google_secret_manager_secret_iam_member').map((b) => b.secret_id)).toContain(
      'server-db-password',
    );
  });

  it('stores state in GCS per environment and pauses the jobs it is told to', () => {
    const paused = jobs[0].id;
    const { json } = synth(
      settingsFrom({
        ENX_INFRA_STATE_BUCKET: 'enx-tf-state',
        ENX_INFRA_PAUSED_JOBS: paused,
        ENX_INFRA_ENVIRONMENT: 'staging',
      }),
    );
    expect(json.terraform.backend).toEqual({ gcs: { bucket: 'enx-tf-state', prefix: 'enx-jobs/staging' } });
    expect(resources(json, 'google_cloud_scheduler_job').find((s) => s.name === paused)?.paused).toBe(true);
  });

  it('synthesizes one stack per environment', () => {
    const stacks = synthAll({
      environments: ['staging', 'production'].map((name) => ({
        ...settingsFrom().environments[0],
        name,
        projectId: `enx-${name}-project`,
      })),
    });
    expect(stacks.map((stack) => resources(stack.json, 'google_cloudfunctions2_function').length)).toEqual([
      jobs.length,
      jobs.length,
    ]);
    expect(stacks[1].text).toContain('enx-production-project');
    expect(stacks[1].text).not.toContain('enx-staging-project');
  });
});

describe('service account ids', () => {
  it('are valid, distinct and readable for every job', () => {
    const ids = jobs.flatMap((job) => [runtimeAccountId(job.id), invokerAccountId(job.id)]);
    for (const id of ids) expect(id).toMatch(/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('stay distinct when long ids share a prefix', () => {
    const a = serviceAccountId('realm-certificate-key-rotation-worker-a', '-inv');
    const b = serviceAccountId('realm-certificate-key-rotation-worker-b', '-inv');
    expect(a).not.toBe(b);
    expect(a.length).toBeLessThanOrEqual(30);
    expect(serviceAccountId('e2e')).toBe('e2e-job');
  });
});
