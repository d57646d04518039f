/**
 * What npm run build writes, read by the build's own report, its test and the cold-start
 * benchmark, and how an archive is started.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** The Functions Framework's CLI, which Cloud Functions' buildpack starts on an archive. */
export const FRAMEWORK_CLI = path.resolve(
  __dirname,
  '..',
  'node_modules',
  '@google-cloud',
  'functions-framework',
  'build',
  'src',
  'main.js',
);

/** The JavaScript of a function's archive: its entry and every chunk it can load. */
export function archiveBytes(dir: string): number {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.js'))
    .reduce((sum, name) => sum + statSync(path.join(dir, name)).size, 0);
}
