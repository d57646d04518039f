import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { catalog } from '../../functions/catalog';
import { InfraSettingsError, loadSettings, parseSettings } from '../../infra/settings';
import { BASE_ENV, BASE_JOB_ENV, settingsFrom } from './support';

function problemsOf(action: () => unknown): string[] {
  try {
    action();
  } catch (error) {
    if (error instanceof InfraSettingsError) return [...error.problems];
    throw error;
  }
  throw new Error('expected the settings to be refused');
}

describe('infra settings', () => {
  it('fills every default from the minimum an operator must say', () => {
    const [environment] = settingsFrom().environments;
    expect(environment).toEqual({
      name: 'production',
      projectId: 'enx-test-project',
      region: 'europe-west1',
      schedulerRegion: 'europe-west1',
      keyManager: 'google-cloud-kms',
      functionSource: 'test/infra/fixtures/function-source',
      maxInstances: 2,
      pausedJobs: [],
      omittedJobs: [],
      notifications: {
        emails: ['oncall@example.com'],
        routes: { CRITICAL: ['email'], ERROR: ['email'], WARNING: ['email'] },
      },
      database: {
        mode: 'existing',
        host: '10.20.0.5',
        port: 5432,
        name: 'en-verification',
        user: 'enx-jobs',
        sslMode: 'require',
        instanceConnectionName: 'enx-test-project:europe-west1:enx-db',
        // The instance is known, so the Cloud SQL connector, to ENX's private address by default.
        connection: {
          kind: 'cloud-sql-connector',
          instance: 'enx-test-project:europe-west1:enx-db',
          ipType: 'PRIVATE',
        },
      },
      vpcConnector: 'projects/enx-test-project/locations/europe-west1/connectors/enx-jobs',
      kms: { legacySoftwareKeys: false },
      backend: { kind: 'local', path: '../../../terraform.production.tfstate' },
      backupRetentionDays: 30,
      env: {},
      jobEnv: BASE_JOB_ENV,
    });
  });

  describe('the database path', () => {
    const problemsOf = (env: Record<string, string | undefined>) => {
      try {
        settingsFrom(env);
        return [];
      } catch (error) {
        return [...(error as { problems: string[] }).problems];
      }
    };

    it('refuses a private host without a VPC connector, naming both ways out', () => {
      const problems = problemsOf({
        ENX_INFRA_DB_INSTANCE: undefined,
        ENX_INFRA_VPC_CONNECTOR: undefined,
      });
      expect(problems).toContainEqual(
        expect.stringMatching(/10\.20\.0\.5 is a private address.*network\.vpcConnector.*database\.instance/),
      );
    });

    it('refuses the /cloudsql socket, which gen2 functions do not get', () => {
      const problems = problemsOf({ ENX_INFRA_DB_INSTANCE: undefined, ENX_INFRA_DB_HOST: '/cloudsql/p:r:i' });
      expect(problems).toContainEqual(expect.stringMatching(/no \/cloudsql socket.*cloud-sql-connector/));
    });

    it('refuses a private connector address without a VPC connector', () => {
      expect(problemsOf({ ENX_INFRA_VPC_CONNECTOR: undefined })).toEqual([
        expect.stringMatching(/PRIVATE needs network\.vpcConnector/),
      ]);
    });

    it('accepts the connector over a public address with no VPC at all', () => {
      expect(problemsOf({ ENX_INFRA_VPC_CONNECTOR: undefined, ENX_INFRA_DB_IP_TYPE: 'PUBLIC' })).toEqual([]);
    });
  });

  it('reads every kind of setting from variables', () => {
    const [environment] = settingsFrom({
      ENX_INFRA_ENVIRONMENT: 'staging',
      ENX_INFRA_SCHEDULER_REGION: 'europe-west3',
      ENX_INFRA_MAX_INSTANCES: '4',
      ENX_INFRA_PAUSED_JOBS: catalog[0].id,
      ENX_INFRA_PAGERDUTY_SERVICE_KEY: 'secret:pagerduty-key',
      ENX_INFRA_SLACK_CHANNEL: '#enx-alerts',
      ENX_INFRA_SLACK_AUTH_TOKEN: 'var:slack_token',
      ENX_INFRA_DB_MODE: 'cloud-sql',
      ENX_INFRA_DB_INSTANCE: undefined,
      ENX_INFRA_DB_HA: 'true',
      ENX_INFRA_STATE_BUCKET: 'enx-terraform-state',
      ENX_INFRA_ENV: '{"LOG_LEVEL":"debug"}',
    }).environments;
    expect(environment).toMatchObject({
      name: 'staging',
      schedulerRegion: 'europe-west3',
      maxInstances: 4,
      pausedJobs: [catalog[0].id],
      notifications: {
        pagerDutyServiceKey: { kind: 'secret-manager', secretId: 'pagerduty-key' },
        slack: { channelName: '#enx-alerts', authToken: { kind: 'variable', name: 'slack_token' } },
      },
      database: {
        mode: 'cloud-sql',
        instanceName: 'enx-staging',
        highAvailability: true,
        deletionProtection: true,
      },
      backend: { kind: 'gcs', bucket: 'enx-terraform-state', prefix: 'enx-jobs/staging' },
      env: { LOG_LEVEL: 'debug' },
    });
  });

  it('uses the Cloud SQL socket without TLS when the host is one', () => {
    const [environment] = settingsFrom({ ENX_INFRA_DB_HOST: '/cloudsql/p:europe-west1:db' }).environments;
    expect(environment.database).toMatchObject({ sslMode: 'disable' });
  });

  it('makes one environment per file section, file < variables < section', () => {
    const settings = parseSettings({
      file: {
        name: 'settings.json',
        content: {
          region: 'us-east1',
          notifications: { emails: ['team@example.com'] },
          database: { host: 'db.internal' },
          jobEnv: BASE_JOB_ENV,
          omittedJobs: ['backup-worker'],
          environments: {
            staging: { projectId: 'enx-staging-1' },
            production: { projectId: 'enx-production-1', region: 'us-central1' },
          },
        },
      },
      env: { ENX_INFRA_REGION: 'europe-west1', ENX_INFRA_MAX_INSTANCES: '3' },
    });
    expect(settings.environments.map((e) => [e.name, e.projectId, e.region, e.maxInstances])).toEqual([
      ['staging', 'enx-staging-1', 'europe-west1', 3],
      ['production', 'enx-production-1', 'us-central1', 3],
    ]);
  });

  it("requires a project, a database host, a notification channel and the jobs' required settings, naming each", () => {
    const problems = problemsOf(() => parseSettings({ env: {} }));
    expect(problems.slice(0, 3)).toEqual([
      'projectId (ENX_INFRA_PROJECT_ID) is required: the Google Cloud project to deploy to',
      expect.stringContaining('at least one notification channel is required'),
      expect.stringContaining('database.host (ENX_INFRA_DB_HOST) is required'),
    ]);
    expect(problems[1]).toContain('ENX_INFRA_NOTIFY_EMAILS');
    // Every required job setting no default or infra resource covers is named, with the fix.
    const required = Object.entries(BASE_JOB_ENV).flatMap(([job, vars]) =>
      Object.keys(vars)
        .filter((name) =>
          catalog
            .find((spec) => spec.id === job)!
            .config.fields.some((field) => field.env === name && field.defaultText === undefined),
        )
        .map((name) => `jobEnv.${job}.${name}`),
    );
    expect(required).toContain('jobEnv.stats-puller-worker.KEY_SERVER_URL');
    expect(
      problems
        .slice(3)
        .map((problem) => problem.split(':')[0])
        .sort(),
    ).toEqual([...required, 'jobEnv.backup-worker.BACKUP_DATABASE_INSTANCE_URL'].sort());
    expect(problems).toContainEqual(
      expect.stringMatching(
        /^jobEnv\.stats-puller-worker\.KEY_SERVER_URL: is required .* set it in jobEnv\.stats-puller-worker, or leave stats-puller-worker out with omittedJobs$/,
      ),
    );
    expect(problems.find((problem) => problem.includes('BACKUP_DATABASE_INSTANCE_URL'))).toContain(
      'set database.instance (ENX_INFRA_DB_INSTANCE)',
    );
  });

  it('leaves omitted jobs out of the required settings, and refuses unknown ids and the watchdog', () => {
    const settings = settingsFrom({
      ENX_INFRA_OMITTED_JOBS: 'e2e-redirect',
      ENX_INFRA_JOB_ENV: JSON.stringify({ ...BASE_JOB_ENV, 'e2e-redirect': {} }),
    });
    expect(settings.environments[0].omittedJobs).toEqual(['e2e-redirect']);
    expect(problemsOf(() => settingsFrom({ ENX_INFRA_OMITTED_JOBS: 'no-such-job,fleet-watchdog' }))).toEqual([
      expect.stringContaining(
        'omittedJobs (ENX_INFRA_OMITTED_JOBS): "no-such-job" is not a job of the catalog',
      ),
      'omittedJobs (ENX_INFRA_OMITTED_JOBS): fleet-watchdog cannot be left out; it is what measures the other jobs',
    ]);
  });

  it('reports every bad value at once, each with its variable and what to write', () => {
    const problems = problemsOf(() =>
      settingsFrom({
        ENX_INFRA_PROJECT_ID: 'My Project',
        ENX_INFRA_REGION: 'europe',
        ENX_INFRA_MAX_INSTANCES: 'many',
        ENX_INFRA_NOTIFY_EMAILS: 'oncall, not-an-address',
        ENX_INFRA_DB_PORT: '70000',
        ENX_INFRA_DB_HA: 'yes',
        ENX_INFRA_PAUSED_JOBS: 'no-such-job',
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^projectId \(ENX_INFRA_PROJECT_ID\): "My Project" is not a project id/),
        expect.stringMatching(/^region \(ENX_INFRA_REGION\): "europe" is not a region/),
        expect.stringMatching(/^maxInstances \(ENX_INFRA_MAX_INSTANCES\): "many" is not a whole number/),
        expect.stringMatching(/ENX_INFRA_NOTIFY_EMAILS\): "oncall" is not an email address/),
        expect.stringMatching(/ENX_INFRA_NOTIFY_EMAILS\): "not-an-address" is not an email address/),
        expect.stringMatching(/^database.port \(ENX_INFRA_DB_PORT\): 70000 is not between 1 and 65535/),
        expect.stringMatching(/ENX_INFRA_PAUSED_JOBS\): "no-such-job" is not a job of the catalog/),
      ]),
    );
    expect(problems).toHaveLength(7);
  });

  it('refuses a secret value where a setting must name where the secret lives', () => {
    const problems = problemsOf(() => settingsFrom({ ENX_INFRA_PAGERDUTY_SERVICE_KEY: 'a1b2c3d4e5f6' }));
    expect(problems).toEqual([
      expect.stringMatching(
        /^notifications.pagerDutyServiceKey \(ENX_INFRA_PAGERDUTY_SERVICE_KEY\): must name where the secret lives: secret:<Secret Manager secret id>.*never the secret itself$/,
      ),
    ]);
  });

  it('refuses absolute paths, so no machine path is synthesized', () => {
    const problems = problemsOf(() =>
      settingsFrom({
        ENX_INFRA_FUNCTION_SOURCE: '/work/main/dist/functions',
        ENX_INFRA_STATE_PATH: '/tmp/state',
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining(
          'functionSource (ENX_INFRA_FUNCTION_SOURCE): "/work/main/dist/functions" is absolute',
        ),
        expect.stringContaining('backend.path (ENX_INFRA_STATE_PATH): "/tmp/state" is absolute'),
      ]),
    );
    expect(problems).toHaveLength(2);
  });

  it('names unknown variables and file keys instead of ignoring them', () => {
    expect(problemsOf(() => settingsFrom({ ENX_INFRA_PROJECT: 'x' }))[0]).toMatch(
      /^ENX_INFRA_PROJECT is not a setting; the variables are ENX_INFRA_PROJECT_ID, /,
    );
    const problems = problemsOf(() =>
      parseSettings({
        file: { name: 'infra.json', content: { projectid: 'x', database: { hots: 'y' } } },
        env: BASE_ENV,
      }),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^infra.json: "projectid" is not a setting/),
      expect.stringMatching(/^infra.json: "database.hots" is not a setting/),
    ]);
  });

  it('refuses slack without its token, and two environments in one project', () => {
    expect(problemsOf(() => settingsFrom({ ENX_INFRA_SLACK_CHANNEL: '#alerts' }))).toEqual([
      expect.stringContaining(
        'notifications.slackChannel (ENX_INFRA_SLACK_CHANNEL) and notifications.slackAuthToken',
      ),
    ]);
    const problems = problemsOf(() =>
      parseSettings({
        file: { name: 'f.json', content: { environments: { staging: {}, production: {} } } },
        env: BASE_ENV,
      }),
    );
    expect(problems).toEqual([
      'environments staging, production share project enx-test-project: every environment needs a project of its own (the resource names are the job ids)',
    ]);
  });

  it("checks extra env vars against the functions' own declarations", () => {
    const job = catalog[0];
    const problems = problemsOf(() =>
      settingsFrom({
        ENX_INFRA_ENV: JSON.stringify({ LOG_LEVEL: 'loud', OIDC_AUDIENCE: 'x', NO_SUCH_VAR: '1' }),
        ENX_INFRA_JOB_ENV: JSON.stringify({ [job.id]: { DB_PASSWORD: 'hunter2' }, 'no-such-job': {} }),
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^env.LOG_LEVEL: "loud" is not one of debug, info, warning, error$/),
        'env.OIDC_AUDIENCE: is set by infra from the deployment; remove it',
        expect.stringMatching(/^env.NO_SUCH_VAR: no function reads it/),
        `jobEnv.${job.id}.DB_PASSWORD: is set by infra from the deployment; remove it`,
        expect.stringMatching(/^jobEnv \(ENX_INFRA_JOB_ENV\): "no-such-job" is not a job of the catalog/),
      ]),
    );
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('validates a job setting with the parser the function itself uses', () => {
    const job = catalog.find((spec) => spec.config.fields.some((field) => field.defaultText !== undefined));
    if (!job) return;
    const field = job.config.fields.find(
      (candidate) => candidate.defaultText !== undefined && !candidate.secret,
    );
    if (!field) return;
    const accepted = settingsFrom({
      ENX_INFRA_JOB_ENV: JSON.stringify({ ...BASE_JOB_ENV, [job.id]: { [field.env]: field.defaultText } }),
    });
    expect(accepted.environments[0].jobEnv[job.id]).toEqual({ [field.env]: field.defaultText });
    const problems = problemsOf(() =>
      settingsFrom({
        ENX_INFRA_JOB_ENV: JSON.stringify({
          ...BASE_JOB_ENV,
          [job.id]: { [field.env]: '\u0000not valid\u0000' },
        }),
      }),
    );
    expect(problems[0]).toMatch(new RegExp(`^jobEnv\\.${job.id}\\.${field.env}: `));
  });
});

describe('loading the settings of a run', () => {
  let folder: string;
  beforeAll(() => {
    folder = mkdtempSync(path.join(os.tmpdir(), 'enx-infra-settings-'));
    writeFileSync(path.join(folder, 'broken.json'), '{ "projectId": ');
    writeFileSync(
      path.join(folder, 'good.json'),
      JSON.stringify({
        projectId: 'enx-file-project',
        notifications: { emails: ['a@example.com'] },
        jobEnv: BASE_JOB_ENV,
        omittedJobs: ['backup-worker'],
      }),
    );
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('reads the file named by ENX_INFRA_SETTINGS_FILE, relative to the working directory, then the variables', () => {
    const settings = loadSettings({ ENX_INFRA_SETTINGS_FILE: 'good.json', ENX_INFRA_DB_HOST: 'db' }, folder);
    expect(settings.environments[0]).toMatchObject({
      projectId: 'enx-file-project',
      database: { host: 'db' },
    });
  });

  it('says which file cannot be read or parsed', () => {
    expect(problemsOf(() => loadSettings({ ENX_INFRA_SETTINGS_FILE: 'missing.json' }, folder))).toEqual([
      'ENX_INFRA_SETTINGS_FILE: cannot read missing.json: ENOENT',
    ]);
    expect(problemsOf(() => loadSettings({ ENX_INFRA_SETTINGS_FILE: 'broken.json' }, folder))[0]).toMatch(
      /^broken.json: is not valid JSON/,
    );
  });

  it('sends job settings given for every function to jobEnv', () => {
    const job = catalog.find((spec) => spec.config.fields.length > 0);
    if (!job) return;
    const name = job.config.fields[0].env;
    expect(problemsOf(() => settingsFrom({ ENX_INFRA_ENV: JSON.stringify({ [name]: 'x' }) }))).toEqual([
      `env.${name}: is a setting of ${job.id}; set it in jobEnv.<job id>`,
    ]);
  });
});

describe('notification routes', () => {
  const parse = (extra: Record<string, string>) =>
    settingsFrom({ ...extra }).environments[0].notifications.routes;

  it('pages through every channel but Slack, and sends the rate alerts to Slack', () => {
    expect(
      parse({
        ENX_INFRA_PAGERDUTY_SERVICE_KEY: 'secret:pd',
        ENX_INFRA_SLACK_CHANNEL: '#enx',
        ENX_INFRA_SLACK_AUTH_TOKEN: 'secret:slack',
      }),
    ).toEqual({ CRITICAL: ['email', 'pagerduty'], ERROR: ['email', 'pagerduty'], WARNING: ['slack'] });
  });

  it('takes the lists of the settings, and refuses a channel that is not configured', () => {
    expect(parse({ ENX_INFRA_WEBHOOK_URL: 'var:hook', ENX_INFRA_NOTIFY_CRITICAL: 'webhook' })).toMatchObject({
      CRITICAL: ['webhook'],
      WARNING: ['email'],
    });
    expect(() => parse({ ENX_INFRA_NOTIFY_CRITICAL: 'pagerduty,sms' })).toThrow(
      /notifications.critical \(ENX_INFRA_NOTIFY_CRITICAL\): sms is not a channel kind[\s\S]*pagerduty is not configured/,
    );
  });
});
