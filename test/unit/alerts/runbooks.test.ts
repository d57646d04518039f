import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { catalog } from '../../../functions/catalog';
import { ALERT_RULES } from '../../../functions/alerts/rules';

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
