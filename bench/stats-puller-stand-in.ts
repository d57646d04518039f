/**
 * The key-server stand-in in a process of its own for benchmark (d), so its CPU does not compete
 * with the job being measured (a real key server is another machine). Reads its settings from the
 * environment, prints its URL as one JSON line, and exits when stdin closes.
 */
import { Pool } from 'pg';
import { LocalKeyManager } from '../functions/adapters/local-key-manager';
import { systemClock } from '../functions/core/clock';
import { localKeyLookup, startKeyServerStats } from '../local/key-server-stats';

async function main(): Promise<void> {
  const pool = new Pool({ connectionString: process.env.BENCH_DATABASE_URL, max: 4 });
  // An idle connection cut when Postgres stops at the end must not crash the process.
  pool.on('error', () => undefined);
  const standIn = await startKeyServerStats({
    keys: localKeyLookup(pool, new LocalKeyManager(pool, systemClock), {
      kid: 'v1',
      keyVersion: process.env.BENCH_SYSTEM_KEY_VERSION ?? '',
    }),
    latencyMs: Number(process.env.BENCH_LATENCY_MS ?? '50'),
  });
  process.stdout.write(`${JSON.stringify({ url: standIn.url })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    void standIn.close().then(() => pool.end());
  });
}

void main();
