/**
 * `npm ci` (what CI and a new user run) refuses a lock that misses any optional dependency. The
 * registry mirror here lacks some foreign-platform binaries, so `npm install` leaves them out;
 * scripts/lock-foreign-platforms.py puts them back. This test fails fast when a lock change forgot it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

type LockEntry = { optionalDependencies?: Record<string, string> };

it('records every optional dependency, so npm ci accepts the lock (run scripts/lock-foreign-platforms.py)', () => {
  const lock = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  // Only per-platform binaries: npm resolves other optional dependencies (bare-events, say) itself.
  const perPlatform = /(^|[-/])(darwin|linux|win32|android|freebsd|openharmony)(-|$)/;
  const missing: string[] = [];
  for (const [where, entry] of Object.entries(lock.packages)) {
    for (const dependency of Object.keys(entry.optionalDependencies ?? {}).filter((name) =>
      perPlatform.test(name),
    )) {
      const nested = `${where ? `${where}/` : ''}node_modules/${dependency}`;
      if (!(nested in lock.packages) && !(`node_modules/${dependency}` in lock.packages))
        missing.push(dependency);
    }
  }
  expect(missing).toEqual([]);
});
