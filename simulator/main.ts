/**
 * `npm run simulate -- ...`: parse the arguments, start a throwaway PostgreSQL on 127.0.0.1,
 * migrate it, run the simulation, print the timeline as it happens and a summary at the end, stop
 * PostgreSQL. The loop lives in engine.ts; this file only wires and prints.
 */
// First, before anything loads a Google library: never probe the cloud metadata server.
import '../local/no-metadata-probe';
import { closeSync, openSync, writeSync } from 'node:fs';
import { Pool } from 'pg';
import { migrateLocal } from '../local/migrate';
import { startEmbeddedPostgres } from '../local/embedded-postgres';
import type { PostgresServer } from '../local/embedded-postgres';
import { parseSimulatorArgs, USAGE } from './args';
import { simulate } from './engine';
import { describeFault } from './scenario';
import { formatTransition } from './timeline';
import { formatSummary } from './summary';

const DATABASE = 'enx_simulator';

async function main(argv: readonly string[]): Promise<number> {
  const command = parseSimulatorArgs(argv);
  if (command.kind === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command.kind === 'error') {
    process.stderr.write(
      `npm run simulate: ${command.message}\nRun npm run simulate -- --help for the forms.\n`,
    );
    return 2;
  }

  const { scenario } = command;
  if (command.scenarioName) process.stdout.write(`Scenario ${command.scenarioName}\n`);
  process.stdout.write(
    `Simulating ${new Date(scenario.startMs).toISOString()} to ${new Date(scenario.endMs).toISOString()} (seed ${scenario.seed})\n`,
  );
  for (const fault of scenario.faults) process.stdout.write(`  fault: ${describeFault(fault)}\n`);

  const setupStarted = performance.now();
  let server: PostgresServer | undefined;
  let pool: Pool | undefined;
  const logFd = command.logFile === undefined ? undefined : openSync(command.logFile, 'w');
  try {
    server = await startEmbeddedPostgres({ persistent: false, fast: true });
    await server.createDatabase(DATABASE);
    pool = new Pool({ connectionString: server.url(DATABASE), max: 4 });
    // A connection dropped while the server stops must not crash the process.
    pool.on('error', () => undefined);
    await migrateLocal(pool);
    process.stdout.write(
      `PostgreSQL ready and migrated in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s\n\nTimeline:\n`,
    );

    let printed = 0;
    const result = await simulate({
      db: pool,
      scenario,
      jobs: command.jobs,
      exactSnapshots: command.exactSnapshots,
      writeLine: logFd === undefined ? undefined : (line) => void writeSync(logFd, line + '\n'),
      onTransition: (transition) => {
        printed += 1;
        process.stdout.write(`${formatTransition(transition)}\n`);
      },
    });
    if (printed === 0) process.stdout.write('No alert fired.\n');
    process.stdout.write(`\n${formatSummary(result)}\n`);
    if (command.logFile !== undefined) process.stdout.write(`Runtime log: ${command.logFile}\n`);
    return 0;
  } finally {
    if (logFd !== undefined) closeSync(logFd);
    await pool?.end();
    await server?.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`npm run simulate failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
