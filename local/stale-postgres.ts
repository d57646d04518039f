/**
 * A fleet killed without its orderly stop (kill -9, a crash, a closed laptop lid that never came
 * back) can leave its Postgres running: the server runs in a process group of its own, so it
 * survives its parent, and it keeps the data folder's lock (postmaster.pid), which would make the
 * next start fail. Before starting, such a server is asked for a fast shutdown, but only when the
 * lock names this very folder and the process still is a postgres serving it (a recycled pid
 * belongs to someone else and is left alone).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function servesFolder(pid: number, dataDir: string): boolean {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return path.basename(args[0] ?? '') === 'postgres' && args.includes(dataDir);
  } catch {
    // No /proc (macOS): the lock file naming this folder and a live pid have to do.
    return process.platform !== 'linux';
  }
}

/** Stops a leftover server on `dataDir`; returns its pid, or undefined when there was none. */
export async function stopStalePostgres(dataDir: string, timeoutMs = 15_000): Promise<number | undefined> {
  const lock = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(lock)) return undefined;
  const [pidLine, folderLine] = readFileSync(lock, 'utf8').split('\n');
  const pid = Number(pidLine);
  if (!Number.isInteger(pid) || pid <= 0 || path.resolve(folderLine ?? '') !== path.resolve(dataDir)) {
    return undefined;
  }
  // A dead pid: Postgres clears its own stale lock file when it starts.
  if (!alive(pid) || !servesFolder(pid, path.resolve(dataDir))) return undefined;
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) {
      throw new Error(
        `a Postgres left running on ${dataDir} (pid ${pid}) did not stop within ${timeoutMs / 1000} s; stop it and start again`,
      );
    }
    await delay(100);
  }
  return pid;
}
