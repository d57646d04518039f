/**
 * A test that needs a system program (redis-server, pg_dump, Chromium) fails, never skips, when the
 * machine lacks it, with one line naming the Debian package. The suite's global setup installs them
 * where it can (local/system-tools.ts), so this is only reached off root or without apt-get.
 */
import { findExecutable, installHint } from '../../local/system-tools';
import type { SystemTool } from '../../local/system-tools';

export function requireSystemTool(tool: SystemTool): string {
  const found = findExecutable(tool.command);
  if (!found) {
    throw new Error(`${tool.command} is missing (${tool.neededBy}): run ${installHint([tool])}`);
  }
  return found;
}
