/**
 * Shared helpers of the infra tests: settings as an operator would write them, a synthesized stack
 * as plain JSON, and lookups by resource type.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Testing } from 'cdktf';
import type { JobSpec } from '../../functions/core/job-spec';
import type { AlertRule } from '../../functions/alerts/rules';
import { buildApp } from '../../infra/app';
import type { InfraSettings } from '../../infra/settings';
import { parseSettings } from '../../infra/settings';

export const FIXTURE_SOURCE = 'test/infra/fixtures/function-source';

/** The job settings with no default anywhere: every deployment names its own key server. */
const E2E_FLOW_ENV = {
  HEALTH_AUTHORITY_CODE: 'org.example',
  VERIFICATION_ADMIN_API: 'https://adminapi.example.org',
  VERIFICATION_SERVER_API: 'https://apiserver.example.org',
  KEY_SERVER: 'https://keys.example.org',
};
const EMAILER_ENV = { FROM_ADDRESS: 'enx-alerts@example.org', SERVER_ENDPOINT: 'https://admin.example.org' };

/** Every setting a deployment must give because no default or infra resource can. */
export const BASE_JOB_ENV = {
  'stats-puller-worker': { KEY_SERVER_URL: 'https://keys.example.org' },
  'e2e-default': E2E_FLOW_ENV,
  'e2e-revise': E2E_FLOW_ENV,
  'e2e-redirect': { ENX_REDIRECT_URL: 'https://e2e-realm.redirect.example.org' },
  'e2e-user-report': E2E_FLOW_ENV,
  'emailer-anomalies': EMAILER_ENV,
  'emailer-sms-errors': EMAILER_ENV,
};

/** The minimum a deployment must say, plus the fixture source so no build is needed. */
export const BASE_ENV = {
  ENX_INFRA_PROJECT_ID: 'enx-test-project',
  ENX_INFRA_REGION: 'europe-west1',
  ENX_INFRA_NOTIFY_EMAILS: 'oncall@example.com',
  ENX_INFRA_DB_HOST: '10.20.0.5',
  // backup-worker exports this instance.
  ENX_INFRA_DB_INSTANCE: 'enx-test-project:europe-west1:enx-db',
  // ENX's instance has a private IP only: the connector dials it from inside the VPC.
  ENX_INFRA_VPC_CONNECTOR: 'projects/enx-test-project/locations/europe-west1/connectors/enx-jobs',
  ENX_INFRA_FUNCTION_SOURCE: FIXTURE_SOURCE,
  // The key server, the probes' targets and the mail sender have no default: every deployment
  // names its own.
  ENX_INFRA_JOB_ENV: JSON.stringify(BASE_JOB_ENV),
} as const;

export function settingsFrom(env: Record<string, string | undefined> = {}): InfraSettings {
  return parseSettings({ env: { ...BASE_ENV, ...env } });
}

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Synthesized {
  readonly text: string;
  readonly json: Json;
}

let outdir: string | undefined;

/** App.synth is never called: only the in-memory JSON, but App still wants an outdir it can create. */
function scratchOutdir(): string {
  outdir ??= mkdtempSync(path.join(os.tmpdir(), 'enx-infra-test-'));
  return outdir;
}

export function removeScratch(): void {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
  outdir = undefined;
}

/**
 * Every function deploys from its own folder of the function source; a catalog other than the real
 * one (a test's synthetic jobs) gets a scratch source with a placeholder folder per job.
 */
function withSourceFor(settings: InfraSettings, jobs: readonly JobSpec[] | undefined): InfraSettings {
  if (!jobs) return settings;
  const source = path.join(scratchOutdir(), 'function-source');
  for (const job of jobs) {
    mkdirSync(path.join(source, job.id), { recursive: true });
    writeFileSync(path.join(source, job.id, 'index.js'), `exports.placeholder = '${job.id}';\n`);
  }
  return {
    ...settings,
    environments: settings.environments.map((environment) => ({ ...environment, functionSource: source })),
  };
}

export function synthAll(
  settings: InfraSettings,
  options: { jobs?: readonly JobSpec[]; rules?: readonly AlertRule[] } = {},
): Synthesized[] {
  const { stacks } = buildApp(withSourceFor(settings, options.jobs), { outdir: scratchOutdir(), ...options });
  return stacks.map((stack) => {
    const text = Testing.synth(stack);
    return { text, json: JSON.parse(text) as Json };
  });
}

export function synth(
  settings: InfraSettings = settingsFrom(),
  options: { jobs?: readonly JobSpec[]; rules?: readonly AlertRule[] } = {},
): Synthesized {
  return synthAll(settings, options)[0];
}

/** The resources of one type, as a list of their synthesized bodies. */
export function resources(json: Json, type: string): Json[] {
  return Object.values((json.resource?.[type] ?? {}) as Record<string, Json>);
}

export function dataSources(json: Json, type: string): Json[] {
  return Object.values((json.data?.[type] ?? {}) as Record<string, Json>);
}

/** Resource address → body, to follow references such as ${google_service_account.x.email}. */
export function addressOf(json: Json, type: string, predicate: (body: Json) => boolean): string {
  const entry = Object.entries((json.resource?.[type] ?? {}) as Record<string, Json>).find(([, body]) =>
    predicate(body),
  );
  if (!entry) throw new Error(`no ${type} matches`);
  return `${type}.${entry[0]}`;
}
