/**
 * Prints the configuration tables of the README from the config declarations themselves, so the
 * documentation cannot drift from the code (test/unit/readme.test.ts checks the README carries
 * exactly this output between its markers).
 */
import { catalog } from '../functions/catalog';
import type { Field } from '../functions/core/config';
import { runtimeConfig } from '../functions/core/runtime-config';

function table(fields: readonly Field<unknown>[]): string {
  if (fields.length === 0) return 'No settings of its own.';
  const rows = fields.map((field) => {
    const value =
      field.defaultText === undefined
        ? '**required**'
        : field.defaultText === ''
          ? '(empty)'
          : `\`${field.defaultText}\``;
    const secret = field.secret ? ' Secret.' : '';
    return `| \`${field.env}\` | ${value} | ${field.doc.replace(/\|/g, '\\|')}${secret} |`;
  });
  return ['| Variable | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

export function configTables(): string {
  const sections = [`### Every function\n\n${table(runtimeConfig.fields)}`];
  for (const job of catalog) sections.push(`### \`${job.id}\`\n\n${table(job.config.fields)}`);
  return sections.join('\n\n');
}

if (require.main === module) process.stdout.write(configTables() + '\n');
