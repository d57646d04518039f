import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { catalog } from '../../../functions/catalog';
import { ALERT_RULES } from '../../../functions/alerts/rules';
import { jobLogFilter } from '../../../functions/alerts/log-filters';

const ROOT = path.join(__dirname, '..', '..', '..');
/** Cloud Monitoring's limit on an alert policy's documentation content. */
const DOCUMENTATION_LIMIT = 8192;

describe.each(ALERT_RULES.map((rule) => [rule.id, rule] as const))('runbook of %s', (id, rule) => {
  const file = path.join(ROOT, rule.runbook);
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';

  it('exists and names the alert', () => {
    expect(text).toContain(id);
  });

  it("fits in an alert policy's documentation", () => {
    expect(text.length).toBeGreaterThan(500);
    expect(text.length).toBeLessThanOrEqual(DOCUMENTATION_LIMIT);
  });

  it('gives a Logs Explorer query and says how to re-run, pause and escalate', () => {
    expect(text).toContain('resource.type="cloud_run_revision"');
    expect(text).toMatch(/gcloud scheduler jobs run/);
    expect(text).toMatch(/## Escalate/);
  });
});

it('lists every job of the catalog in the ForwardProgressFailed runbook', () => {
  const text = readFileSync(path.join(ROOT, 'docs/runbooks/forward-progress-failed.md'), 'utf8');
  for (const job of catalog) expect(text).toContain(`\`${job.id}\``);
});

describe('the runbooks and the shared log filters', () => {
  const read = (name: string) => readFileSync(path.join(ROOT, 'docs/runbooks', name), 'utf8');
  /** A fenced query block as the runbooks indent it under a numbered step. */
  const block = (filter: string) => `   \`\`\`text\n${filter.replace(/^/gm, '   ')}\n   \`\`\``;
  const job = '<job id>';

  it.each([
    ['forward-progress-failed.md', jobLogFilter({ jobId: job, severity: 'WARNING' })],
    [
      'failed-jobs.md',
      jobLogFilter({ jobId: job, events: ['failed', 'exhausted', 'timed_out', 'abandoned'] }),
    ],
    ['job-failure-rate.md', jobLogFilter({ jobId: job, events: ['failed'] })],
    ['job-queue-backlog.md', jobLogFilter({ jobId: job })],
  ])('%s prints the job query jobLogFilter() builds', (name, filter) => {
    expect(read(name)).toContain(block(filter));
  });

  it.each(ALERT_RULES.map((rule) => [rule.runbook] as const))('%s names the triage command', (runbook) => {
    expect(readFileSync(path.join(ROOT, runbook), 'utf8')).toContain('npm run jobs -- triage <job id>');
  });
});
