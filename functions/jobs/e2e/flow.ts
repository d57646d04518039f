/**
 * The probes' flows as a phone and a health authority run them (enx-jobs.md §4):
 *
 *   issue a code (admin API) → verify it (device API) → check it is claimed (admin API) →
 *   HMAC the keys → get a certificate (device API) → publish the keys (key server)
 *
 * once for e2e-default; for e2e-revise twice, the second time as a revision: a new code, testType
 * confirmed after likely, the first publish's revision token and one more key; for e2e-user-report
 * once, with testType user-report and always the test phone (ENX refuses a user report without a
 * phone: pkg/database/vercode.go SaveVerificationCode, ErrRequiresPhoneNumber). And the redirect
 * service's checks for e2e-redirect. Every call is a named, timed step of the Probe; each
 * building block is exported so tests can stop a flow between steps (say, rotate a key between
 * getting a certificate and publishing it).
 */
import { randomBytes } from 'node:crypto';
import { DAY_MS } from '../../core/duration';
import type { ExposureKey } from './tek';
import { exposureKeyHmac, generateKeys, isoDay, randomKey, utcDayInterval } from './tek';
import type { Probe, ProbeRequest } from './http';

/** The original's test number; codes go to it by SMS unless E2E_SKIP_SMS is set. */
export const TEST_PHONE = '+18558361987';

export interface FlowTargets {
  readonly adminApi: string;
  readonly deviceApi: string;
  readonly keyServer: string;
  readonly healthAuthorityId: string;
  readonly skipSms: boolean;
}

export interface ApiKeys {
  readonly admin: string;
  readonly device: string;
}

export type TestType = 'confirmed' | 'likely' | 'user-report';

/**
 * What the phone accepts when verifying (pkg/api/util.go GetAcceptedTestTypes): the code probes
 * accept the usual three; a user-report code is accepted only when user-report is asked for.
 */
const ACCEPT: Readonly<Record<TestType, readonly string[]>> = {
  confirmed: ['confirmed', 'likely', 'negative'],
  likely: ['confirmed', 'likely', 'negative'],
  'user-report': ['user-report'],
};

export interface IssuedCode {
  readonly code: string;
  readonly uuid: string;
}

const string = (document: Record<string, unknown>, field: string): string | undefined => {
  const value = document[field];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

export function issueCode(
  probe: Probe,
  step: string,
  targets: FlowTargets,
  keys: ApiKeys,
  testType: TestType,
  now: Date,
): Promise<IssuedCode> {
  const request: ProbeRequest = {
    method: 'POST',
    url: `${targets.adminApi}/api/issue`,
    headers: { 'X-API-Key': keys.admin },
    body: {
      testType,
      symptomDate: isoDay(new Date(now.getTime() - 2 * DAY_MS)),
      tzOffset: 0,
      externalIssuerID: '',
      ...(targets.skipSms && testType !== 'user-report' ? {} : { phone: TEST_PHONE }),
    },
    expected: 'HTTP 200 with a code and its uuid',
  };
  return probe.step(step, () =>
    probe.json(step, request, (doc, wrong) => {
      const code = string(doc, 'code') ?? wrong('code is missing');
      const uuid = string(doc, 'uuid') ?? wrong('uuid is missing');
      return { code, uuid };
    }),
  );
}

export function verifyCode(
  probe: Probe,
  step: string,
  targets: FlowTargets,
  keys: ApiKeys,
  code: string,
  testType: TestType,
): Promise<string> {
  const request: ProbeRequest = {
    method: 'POST',
    url: `${targets.deviceApi}/api/verify`,
    headers: { 'X-API-Key': keys.device },
    body: { code, accept: ACCEPT[testType] },
    expected: `HTTP 200 with a verification token for a ${testType} test`,
  };
  return probe.step(step, () =>
    probe.json(step, request, (doc, wrong) => {
      const token = string(doc, 'token') ?? wrong('token is missing');
      if (doc.testtype !== testType) wrong(`testtype is ${JSON.stringify(doc.testtype)}, not ${testType}`);
      return token;
    }),
  );
}

export function checkClaimed(
  probe: Probe,
  step: string,
  targets: FlowTargets,
  keys: ApiKeys,
  uuid: string,
): Promise<void> {
  const request: ProbeRequest = {
    method: 'POST',
    url: `${targets.adminApi}/api/checkcodestatus`,
    headers: { 'X-API-Key': keys.admin },
    body: { uuid },
    expected: 'HTTP 200 with claimed: true (the code was just verified)',
  };
  return probe.step(step, () =>
    probe.json(step, request, (doc, wrong) => {
      if (doc.claimed !== true) wrong(`claimed is ${JSON.stringify(doc.claimed)}`);
    }),
  );
}

export function getCertificate(
  probe: Probe,
  step: string,
  targets: FlowTargets,
  keys: ApiKeys,
  token: string,
  keyHmac: Buffer,
): Promise<string> {
  const request: ProbeRequest = {
    method: 'POST',
    url: `${targets.deviceApi}/api/certificate`,
    headers: { 'X-API-Key': keys.device },
    body: { token, ekeyhmac: keyHmac.toString('base64') },
    expected: 'HTTP 200 with a verification certificate',
  };
  return probe.step(step, () =>
    probe.json(step, request, (doc, wrong) => string(doc, 'certificate') ?? wrong('certificate is missing')),
  );
}

export interface Published {
  readonly revisionToken: string;
  readonly insertedExposures: number;
}

export function publishKeys(
  probe: Probe,
  step: string,
  targets: FlowTargets,
  upload: {
    readonly keys: readonly ExposureKey[];
    readonly certificate: string;
    readonly hmacSecret: Buffer;
    readonly revisionToken?: string;
  },
): Promise<Published> {
  const request: ProbeRequest = {
    method: 'POST',
    url: `${targets.keyServer}/v1/publish`,
    body: {
      temporaryExposureKeys: upload.keys,
      healthAuthorityID: targets.healthAuthorityId,
      verificationPayload: upload.certificate,
      hmacKey: upload.hmacSecret.toString('base64'),
      revisionToken: upload.revisionToken ?? '',
      traveler: false,
      padding: randomBytes(16).toString('base64'),
    },
    expected: upload.revisionToken
      ? 'HTTP 200 accepting the revision, with a new revision token'
      : 'HTTP 200 accepting the keys, with a revision token',
  };
  return probe.step(step, () =>
    probe.json(step, request, (doc, wrong) => {
      const revisionToken = string(doc, 'revisionToken') ?? wrong('revisionToken is missing');
      const inserted = typeof doc.insertedExposures === 'number' ? doc.insertedExposures : 0;
      return { revisionToken, insertedExposures: inserted };
    }),
  );
}

export type CodeFlow = 'default' | 'revise' | 'user-report';

const FIRST_TEST_TYPE: Readonly<Record<CodeFlow, TestType>> = {
  default: 'confirmed',
  revise: 'likely',
  'user-report': 'user-report',
};

export interface CodeFlowResult {
  readonly iterations: number;
  readonly keysPublished: number;
}

/** One pass per iteration: the whole code → certificate → publish chain, steps named per pass. */
export async function runCodeFlow(
  probe: Probe,
  flow: CodeFlow,
  targets: FlowTargets,
  keys: ApiKeys,
  now: Date,
): Promise<CodeFlowResult> {
  const teks = generateKeys(now);
  const passes = flow === 'revise' ? 2 : 1;
  let revisionToken: string | undefined;
  let testType: TestType = FIRST_TEST_TYPE[flow];
  for (let pass = 1; pass <= passes; pass += 1) {
    const name = (step: string) => (pass === 1 ? step : `revise.${step}`);
    const issued = await issueCode(probe, name('issue'), targets, keys, testType, now);
    const token = await verifyCode(probe, name('verify'), targets, keys, issued.code, testType);
    await checkClaimed(probe, name('code-status'), targets, keys, issued.uuid);
    const hmacSecret = randomBytes(32);
    const keyHmac = await probe.step(name('hmac'), async () => exposureKeyHmac(teks, hmacSecret));
    const certificate = await getCertificate(probe, name('certificate'), targets, keys, token, keyHmac);
    const published = await publishKeys(probe, name('publish'), targets, {
      keys: teks,
      certificate,
      hmacSecret,
      revisionToken,
    });
    // The revision: confirmed after likely, the token that proves the earlier upload, one more key.
    revisionToken = published.revisionToken;
    testType = 'confirmed';
    teks.push(randomKey(utcDayInterval(now)));
  }
  return { iterations: passes, keysPublished: teks.length - 1 };
}

/** What the redirect service must send each kind of phone to (enx-jobs.md §4, /enx-redirect). */
export const REDIRECT_EXPECTATIONS = [
  { step: 'redirect-android', userAgent: 'android', location: 'android.test.app' },
  { step: 'redirect-ios', userAgent: 'iphone', location: 'ios.test.app' },
  {
    step: 'redirect-other',
    userAgent: 'unknown',
    location: 'https://www.google.com/covid19/exposurenotifications',
  },
] as const;

export async function runRedirectFlow(probe: Probe, redirectUrl: string): Promise<{ checks: number }> {
  const json = (step: string, path: string, expected: string, check: (doc: unknown) => string | undefined) =>
    probe.step(step, async () => {
      const request: ProbeRequest = { method: 'GET', url: `${redirectUrl}${path}`, expected };
      const response = await probe.send(step, request);
      if (response.status !== 200) throw probe.fail(step, request, `answered HTTP ${response.status}`);
      let doc: unknown;
      try {
        doc = JSON.parse(response.text);
      } catch {
        throw probe.fail(step, request, `answered a body that is not JSON: ${response.text.slice(0, 120)}`);
      }
      const problem = check(doc);
      if (problem) throw probe.fail(step, request, `answered ${problem}`);
    });

  await json(
    'assetlinks',
    '/.well-known/assetlinks.json',
    'a non-empty array whose [0].target.package_name is set',
    (doc) => {
      if (!Array.isArray(doc) || doc.length === 0) return 'no statements (an empty or non-array document)';
      const target = (doc[0] as { target?: { package_name?: unknown } } | null)?.target;
      return typeof target?.package_name === 'string' && target.package_name !== ''
        ? undefined
        : 'a first statement without target.package_name';
    },
  );
  await json(
    'apple-app-site-association',
    '/.well-known/apple-app-site-association',
    'a document with a non-empty applinks.details',
    (doc) => {
      const details = (doc as { applinks?: { details?: unknown } } | null)?.applinks?.details;
      return Array.isArray(details) && details.length > 0 ? undefined : 'no applinks.details';
    },
  );
  for (const expectation of REDIRECT_EXPECTATIONS) {
    await probe.step(expectation.step, async () => {
      const request: ProbeRequest = {
        method: 'GET',
        url: `${redirectUrl}/`,
        headers: { 'User-Agent': expectation.userAgent },
        followRedirects: false,
        expected: `HTTP 303 to a Location containing ${expectation.location} for User-Agent ${expectation.userAgent}`,
      };
      const response = await probe.send(expectation.step, request);
      const location = response.headers.get('location') ?? '';
      if (response.status !== 303 || !location.includes(expectation.location)) {
        throw probe.fail(
          expectation.step,
          request,
          `answered HTTP ${response.status}${location ? ` to ${location}` : ' without a Location'}`,
        );
      }
    });
  }
  return { checks: 2 + REDIRECT_EXPECTATIONS.length };
}
