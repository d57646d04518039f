/**
 * docs/deploy.md states the settings and the resource counts of a default deployment; both are
 * derived here from the code, so the page cannot drift from what is deployed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseSettings, SETTINGS, SETTINGS_FILE_ENV, ENVIRONMENT_ENV, BUILD_ENV } from '../../infra/settings';
import { FIXTURE_SOURCE, removeScratch, synth } from './support';

const root = path.join(__dirname, '..', '..');
const doc = readFileSync(path.join(root, 'docs', 'deploy.md'), 'utf8');

afterAll(removeScratch);

it('documents every setting with its variable and file key', () => {
  for (const spec of SETTINGS) expect(doc).toContain(`| \`${spec.env}\` | \`${spec.key}\` |`);
  for (const name of [SETTINGS_FILE_ENV, ENVIRONMENT_ENV, BUILD_ENV])
    expect(doc).toContain(`| \`${name}\` |`);
});

it('states the resource counts of the example settings', () => {
  const example = JSON.parse(
    readFileSync(path.join(root, 'infra', 'settings.example.json'), 'utf8'),
  ) as object;
  const settings = parseSettings({
    file: { name: 'settings.example.json', content: { ...example, functionSource: FIXTURE_SOURCE } },
    env: {},
  });
  const counts = Object.entries(synth(settings).json.resource as Record<string, object>)
    .map(([type, bodies]) => [type, Object.keys(bodies).length] as const)
    .sort(([a], [b]) => a.localeCompare(b));
  const total = counts.reduce((sum, [, count]) => sum + count, 0);
  const table = [
    '| resource type | count |',
    '| --- | --- |',
    ...counts.map(([type, count]) => `| \`${type}\` | ${count} |`),
    `| **total** | **${total}** |`,
  ].join('\n');
  // When the catalog grows, paste this table into docs/deploy.md.
  expect(doc).toContain(table);
});
