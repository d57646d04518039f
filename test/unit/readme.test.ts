import { readFileSync } from 'node:fs';
import path from 'node:path';
import { configTables } from '../../scripts/config-table';

const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');

describe('README', () => {
  it('carries the configuration tables generated from the config declarations', () => {
    const match = /<!-- config-table:start -->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(readme);
    expect(match).not.toBeNull();
    // Regenerate with: npx tsx scripts/config-table.ts, and paste between the markers.
    expect(match?.[1].trim()).toBe(configTables().trim());
  });

  it.each(['npm ci && npm start', 'npm ci && npm test'])('shows the set-up command "%s"', (command) => {
    expect(readme).toContain(command);
  });
});
