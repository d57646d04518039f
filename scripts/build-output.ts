/** What npm run build writes, read by the build's own report and by the cold-start benchmark. */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** The JavaScript of a function's archive: its entry and every chunk it can load. */
export function archiveBytes(dir: string): number {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.js'))
    .reduce((sum, name) => sum + statSync(path.join(dir, name)).size, 0);
}
