/**
 * Preflight reads the synthesized stack back against Google's documented limits. A clean stack
 * passes; each broken limit is refused with the resource, the limit (with its source) and the fix.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatViolations, preflight } from '../../infra/preflight';
import type { Json } from './support';
import { removeScratch, synth } from './support';

afterAll(removeScratch);

const clone = (json: Json): Json => JSON.parse(JSON.stringify(json)) as Json;
const firstOf = (json: Json, type: string): Json =>
  Object.values(json.resource[type] as Record<string, Json>)[0];

describe('preflight', () => {
  let json: Json;
  beforeAll(() => {
    ({ json } = synth());
  });

  it('passes the stack as synthesized', () => {
    expect(preflight(json)).toEqual([]);
  });

  const breaks: [string, (stack: Json) => void, RegExp][] = [
    [
      'a decommissioned runtime',
      (s) => (firstOf(s, 'google_cloudfunctions2_function').build_config.runtime = 'nodejs20'),
      /runtime nodejs20 is decommissioned/,
    ],
    [
      'a function timeout over an hour',
      (s) => (firstOf(s, 'google_cloudfunctions2_function').service_config.timeout_seconds = 4000),
      /timeout 4000 s is over 3600 s/,
    ],
    [
      'more memory than one vCPU allows',
      (s) => (firstOf(s, 'google_cloudfunctions2_function').service_config.available_memory = '8Gi'),
      /8192 MiB of memory is over the 4096 MiB one vCPU allows/,
    ],
    [
      'an attempt deadline over 30 minutes',
      (s) => (firstOf(s, 'google_cloud_scheduler_job').attempt_deadline = '3600s'),
      /attempt deadline 3600 s is outside 15-1800 s/,
    ],
    [
      'six retries',
      (s) => (firstOf(s, 'google_cloud_scheduler_job').retry_config.retry_count = 6),
      /retry count 6 is outside 0-5/,
    ],
    [
      'documentation over 8,192 characters',
      (s) => (firstOf(s, 'google_monitoring_alert_policy').documentation.content = 'x'.repeat(9000)),
      /documentation is 9000 characters/,
    ],
    [
      'a DELTA metric',
      (s) => (firstOf(s, 'google_monitoring_metric_descriptor').metric_kind = 'DELTA'),
      /metric kind DELTA is not allowed/,
    ],
    [
      'a KMS role on the project',
      (s) =>
        (s.resource.google_project_iam_member.extra = {
          role: 'roles/cloudkms.admin',
          member: 'serviceAccount:x',
        }),
      /roles\/cloudkms\.admin granted on the whole project/,
    ],
  ];

  test.each(breaks)('refuses %s, naming resource, limit and fix', (_name, breakIt, limit) => {
    const broken = clone(json);
    breakIt(broken);
    const violations = preflight(broken);
    expect(violations).toHaveLength(1);
    expect(violations[0].limit).toMatch(limit);
    expect(violations[0].limit).toMatch(/https:\/\/cloud\.google\.com\//);
    expect(violations[0].resource).toMatch(/^google_[a-z0-9_]+\.\S+/);
    expect(formatViolations('production', violations)).toMatch(
      /preflight refused stack production \(1 problem\):\n[\s\S]*Fix: /,
    );
  });

  it('gives every function a whole vCPU, not the fraction its memory implies', () => {
    const functions = Object.values(json.resource.google_cloudfunctions2_function as Record<string, Json>);
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions) expect(fn.service_config.available_cpu).toBe('1');
  });

  it('refuses the runtime once Google decommissions it', () => {
    expect(preflight(json, new Date('2028-10-31T00:00:00Z'))).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ limit: expect.stringMatching(/nodejs24 is decommissioned/) }),
      ]),
    );
  });
});

describe('npx cdktf synth, through the pinned CLI, offline', () => {
  let outdir: string;
  beforeAll(() => {
    outdir = mkdtempSync(path.join(os.tmpdir(), 'enx-cdktf-cli-'));
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('synthesizes the example settings from the repository', () => {
    const root = path.resolve(__dirname, '../..');
    const result = spawnSync('npx', ['--no-install', 'cdktf', 'synth', '--output', outdir], {
      cwd: root,
      env: { ...process.env, CHECKPOINT_DISABLE: '1', CI: 'true', METADATA_SERVER_DETECTION: 'none' },
      encoding: 'utf8',
      timeout: 180_000,
    });
    expect(result.stderr + result.stdout).not.toMatch(/could not determine executable/);
    expect(result.status).toBe(0);
    const stack = JSON.parse(
      readFileSync(path.join(outdir, 'stacks', 'production', 'cdk.tf.json'), 'utf8'),
    ) as Json;
    expect(firstOf(stack, 'google_cloudfunctions2_function').build_config.runtime).toBe('nodejs24');
    expect(preflight(stack)).toEqual([]);
  }, 200_000);
});
