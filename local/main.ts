/**
 * `npm start`: parses the command line, starts the local fleet (fleet.ts does the work), and turns
 * Ctrl-C / SIGTERM / SIGHUP into an orderly stop. A second signal exits at once.
 */
import './no-metadata-probe';
import path from 'node:path';
import { parseCliArgs, USAGE } from './cli-args';
import { startFleet } from './fleet';
import { LocalSetupError } from './setup-error';
import { ownShutdownSignals } from './shutdown-signals';
import { ensureSystemTools, FLEET_TOOLS } from './system-tools';

/** By default the repository's git-ignored .data folder, whatever the current directory. */
const DEFAULT_DATA_DIR = path.resolve(__dirname, '..', '.data');

/** Signals closer together than this are one signal delivered twice. */
const REPEAT_SIGNAL_MS = 1000;

const out = (line: string) => void process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  const command = parseCliArgs(process.argv.slice(2));
  if (command.kind === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command.kind === 'error') {
    process.stderr.write(`${command.message}\n\n${USAGE}`);
    return 2;
  }

  ensureSystemTools(FLEET_TOOLS, out);
  let stopping = false;
  let firstSignalAt = 0;
  let requestStop: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolve) => {
    requestStop = resolve;
  });
  const onSignal = (signal: NodeJS.Signals) => {
    // Ctrl-C reaches this process twice: from the terminal, and relayed by tsx's parent process
    // when it has not heard that the child got it (a race of a few tens of ms). Only a repeat
    // after a moment is a person pressing again.
    if (stopping && Date.now() - firstSignalAt < REPEAT_SIGNAL_MS) return;
    if (stopping) {
      out(`${signal} again: exiting without waiting`);
      process.exit(130);
    }
    stopping = true;
    firstSignalAt = Date.now();
    out(`${signal}: stopping the fleet (press Ctrl-C again to exit at once)`);
    requestStop();
  };
  ownShutdownSignals(onSignal);

  const fleet = await startFleet({
    dataDir: command.dataDir ?? DEFAULT_DATA_DIR,
    runNow: command.runNow,
    enxSchemaFile: command.enxSchemaFile,
    statusPort: command.statusPort,
    env: process.env,
    out,
  });
  // Also covers a signal that arrived while the fleet was starting.
  await stopRequested;
  await fleet.stop();
  out('stopped');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // A setup problem is one line saying what to do; anything else is a bug worth its stack trace.
    const detail =
      error instanceof LocalSetupError ? error.message : ((error as Error).stack ?? String(error));
    process.stderr.write(`the local fleet could not start: ${detail}\n`);
    process.exit(1);
  },
);
