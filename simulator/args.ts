/**
 * The command line of `npm run simulate` (npm passes what follows `--`). Parsing is pure, so every
 * form and every mistake is tested without starting a database; main.ts decides what to print and
 * how to exit. Each error names the argument and shows the form it expects.
 */
import { fleetWatchdog } from '../functions/catalog';
import { ALWAYS, SIMULATED_JOBS } from './scenario';
import type { Fault, Scenario, TimeWindow } from './scenario';
import { SCENARIO_NAMES, findScenario } from './scenarios';
import type { NamedScenario } from './scenarios';
import type { JobSpec } from '../functions/core/job-spec';

export const DEFAULT_START = '2026-03-27T00:00:00Z';
export const DEFAULT_DAYS = 7;
export const DEFAULT_SEED = 42;
const MAX_DAYS = 366;
const DAY_MS = 86_400_000;

export const SIMULATED_JOB_IDS: readonly string[] = SIMULATED_JOBS.map((job) => job.id);

export interface RunCommand {
  readonly kind: 'run';
  readonly scenario: Scenario;
  /** The named scenario the run starts from, if any. */
  readonly scenarioName?: string;
  /** The jobs to simulate, when the named scenario says (default SIMULATED_JOBS). */
  readonly jobs?: readonly JobSpec[];
  /** Where the runtime's JSON log lines go; discarded when undefined. */
  readonly logFile?: string;
  readonly exactSnapshots: boolean;
}

export type CliCommand =
  RunCommand | { readonly kind: 'help' } | { readonly kind: 'error'; readonly message: string };

export const USAGE = `Usage: npm run simulate -- [options]

Replays the catalog's schedules over virtual days, time zones and daylight-saving changes included,
against a throwaway PostgreSQL, through the real job runtime (ledger, lock, retries), with the job
logic replaced and faults injected; evaluates every alert rule every virtual minute and after every
attempt, and prints when each alert fires and resolves. fleet-watchdog is not simulated: the
simulator does its work (evaluating the rules) itself. Nothing leaves 127.0.0.1.

Options:
  --scenario <name>                 start from a named scenario (its period, jobs and faults); more
                                    faults may be added. Names: ${SCENARIO_NAMES.join(', ')}
  --days <n>                        how long to simulate (default ${DEFAULT_DAYS}; fractions allowed, at most ${MAX_DAYS})
  --start <time>                    virtual start (default ${DEFAULT_START})
  --seed <n>                        seed of run durations and --fail-rate draws (default ${DEFAULT_SEED})
  --fail <job>[@<window>]           every attempt of the job throws
  --fail-rate <job>=<p>[@<window>]  each attempt throws with probability p (0.15 or 15%)
  --timeout <job>[@<window>]        every attempt runs into the job's timeout
  --duplicate <job>[@<window>]      every request to the job is delivered twice
  --outage <job>[@<window>]         the scheduler sends the job nothing
  --fleet-outage <window>           the scheduler sends nothing to any job
  --never-deployed <job>            the job never receives a request
  --log <file>                      write the runtime's JSON log lines to <file> (default: discarded)
  --exact-snapshots                 read the ledger every virtual minute (slower; same verdicts)
  -h, --help                        show this help

A <window> is <from>..<to>, <to> excluded; leave a side empty for an open end. A time is RFC 3339
in UTC or with an offset (2026-03-28T10:00Z, 2026-03-28T11:00:00+01:00, 2026-03-28) or an offset
from --start (+1d, +36h, +1d2h30m). A fault without a window lasts the whole run. Fault options
may be repeated. Jobs: ${SIMULATED_JOB_IDS.join(', ')}.

Example:
  npm run simulate -- --days 2 --fail cleanup-worker@2026-03-28T10:00Z..2026-03-28T14:00Z
`;

/** A time as written: absolute, or relative to --start (which may come later on the line). */
type TimeRef = { readonly absoluteMs: number } | { readonly offsetMs: number };

interface RawWindow {
  readonly from?: TimeRef;
  readonly to?: TimeRef;
}

type RawFault =
  | { readonly kind: 'fleet-outage'; readonly window: RawWindow; readonly option: string }
  | { readonly kind: 'never-deployed'; readonly jobId: string; readonly option: string }
  | {
      readonly kind: 'fail' | 'timeout' | 'duplicate' | 'outage';
      readonly jobId: string;
      readonly window?: RawWindow;
      readonly option: string;
    }
  | {
      readonly kind: 'fail-rate';
      readonly jobId: string;
      readonly probability: number;
      readonly window?: RawWindow;
      readonly option: string;
    };

class ArgError extends Error {}

const ABSOLUTE =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/i;
const RELATIVE = /^\+(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$/;

const TIME_FORMS = 'an RFC 3339 time such as 2026-03-28T10:00Z, or an offset from --start such as +1d2h';

function parseTime(text: string, option: string): TimeRef {
  const relative = RELATIVE.exec(text);
  if (relative && text !== '+') {
    const [days, hours, minutes] = relative.slice(1).map((part) => Number(part ?? 0));
    return { offsetMs: ((days * 24 + hours) * 60 + minutes) * 60_000 };
  }
  const match = ABSOLUTE.exec(text);
  if (!match) throw new ArgError(`${option}: "${text}" is not a time; expected ${TIME_FORMS}`);
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map((part) => Number(part ?? 0));
  const calendar = new Date(Date.UTC(year, month - 1, day));
  const realDay =
    calendar.getUTCFullYear() === year &&
    calendar.getUTCMonth() === month - 1 &&
    calendar.getUTCDate() === day;
  if (!realDay || hour > 23 || minute > 59 || second > 59) {
    throw new ArgError(`${option}: "${text}" is not a real date and time; expected ${TIME_FORMS}`);
  }
  // The shape is checked above, offset included, so Date reads it the same on every machine.
  const ms = new Date(match[4] === undefined ? `${text}T00:00:00Z` : text).getTime();
  if (Number.isNaN(ms)) throw new ArgError(`${option}: "${text}" is not a time; expected ${TIME_FORMS}`);
  return { absoluteMs: ms };
}

function parseWindow(text: string, option: string, form: string): RawWindow {
  const parts = text.split('..');
  if (parts.length !== 2 || (parts[0] === '' && parts[1] === '')) {
    throw new ArgError(`${option}: "${text}" is not a window; expected ${form}, a window being <from>..<to>`);
  }
  return {
    from: parts[0] === '' ? undefined : parseTime(parts[0], option),
    to: parts[1] === '' ? undefined : parseTime(parts[1], option),
  };
}

function checkJob(jobId: string, option: string, jobIds: readonly string[]): string {
  if (jobIds.includes(jobId)) return jobId;
  if (jobId === fleetWatchdog.id) {
    throw new ArgError(
      `${option}: ${jobId} is not simulated (the simulator evaluates the alert rules itself, which is the watchdog's work); jobs: ${jobIds.join(', ')}`,
    );
  }
  throw new ArgError(
    `${option}: unknown job "${jobId}"; jobs: ${jobIds.join(', ') || '(none)'}${jobId === '' ? ` (expected ${option} <job>...)` : ''}`,
  );
}

/** `<job>[@<window>]`, the common form of most fault options. */
function parseJobWindow(text: string, option: string, jobIds: readonly string[]) {
  const form = `${option} <job>[@<from>..<to>]`;
  const at = text.indexOf('@');
  const jobId = checkJob(at < 0 ? text : text.slice(0, at), option, jobIds);
  return { jobId, window: at < 0 ? undefined : parseWindow(text.slice(at + 1), option, form) };
}

function parseProbability(text: string, option: string): number {
  const percent = text.endsWith('%');
  const number = Number(percent ? text.slice(0, -1) : text);
  const probability = percent ? number / 100 : number;
  if (text === '' || text === '%' || !Number.isFinite(probability) || probability < 0 || probability > 1) {
    throw new ArgError(
      `${option}: "${text}" is not a probability; expected ${option} <job>=<p>[@<from>..<to>] with p from 0 to 1 (0.15) or a percentage (15%)`,
    );
  }
  return probability;
}

function resolveTime(ref: TimeRef | undefined, startMs: number, open: number): number {
  if (ref === undefined) return open;
  return 'absoluteMs' in ref ? ref.absoluteMs : startMs + ref.offsetMs;
}

function resolveWindow(
  raw: RawWindow | undefined,
  option: string,
  startMs: number,
  endMs: number,
): TimeWindow {
  if (raw === undefined) return ALWAYS;
  const window = {
    fromMs: resolveTime(raw.from, startMs, -Infinity),
    toMs: resolveTime(raw.to, startMs, Infinity),
  };
  if (window.fromMs >= window.toMs) throw new ArgError(`${option}: the window ends before it starts`);
  if (window.toMs <= startMs || window.fromMs >= endMs) {
    throw new ArgError(
      `${option}: the window lies outside the simulated period ${new Date(startMs).toISOString()} to ${new Date(endMs).toISOString()}`,
    );
  }
  return window;
}

function resolveFault(raw: RawFault, startMs: number, endMs: number): Fault {
  switch (raw.kind) {
    case 'never-deployed':
      return { kind: raw.kind, jobId: raw.jobId };
    case 'fleet-outage':
      return { kind: raw.kind, window: resolveWindow(raw.window, raw.option, startMs, endMs) };
    case 'fail-rate':
      return {
        kind: raw.kind,
        jobId: raw.jobId,
        probability: raw.probability,
        window: resolveWindow(raw.window, raw.option, startMs, endMs),
      };
    default:
      return {
        kind: raw.kind,
        jobId: raw.jobId,
        window: resolveWindow(raw.window, raw.option, startMs, endMs),
      };
  }
}

const VALUE_OPTIONS = [
  '--scenario',
  '--days',
  '--start',
  '--seed',
  '--fail',
  '--fail-rate',
  '--timeout',
  '--duplicate',
  '--outage',
  '--fleet-outage',
  '--never-deployed',
  '--log',
] as const;

type ValueOption = (typeof VALUE_OPTIONS)[number];

const EXAMPLES: Record<ValueOption, string> = {
  '--scenario': '--scenario one-job-failing',
  '--days': '--days 7',
  '--start': `--start ${DEFAULT_START}`,
  '--seed': '--seed 42',
  '--fail': '--fail cleanup-worker@2026-03-28T10:00Z..2026-03-28T14:00Z',
  '--fail-rate': '--fail-rate cleanup-worker=0.15@+1d..+2d',
  '--timeout': '--timeout cleanup-worker@+1d..+1d1h',
  '--duplicate': '--duplicate cleanup-worker',
  '--outage': '--outage cleanup-worker@+1d..+1d2h',
  '--fleet-outage': '--fleet-outage 2026-03-28T10:00Z..2026-03-28T12:00Z',
  '--never-deployed': '--never-deployed cleanup-worker',
  '--log': '--log /tmp/simulation.log',
};

export function parseSimulatorArgs(argv: readonly string[], jobIds = SIMULATED_JOB_IDS): CliCommand {
  if (argv.includes('-h') || argv.includes('--help')) return { kind: 'help' };
  try {
    return parse(argv, jobIds);
  } catch (error) {
    if (error instanceof ArgError) return { kind: 'error', message: error.message };
    throw error;
  }
}

function parse(argv: readonly string[], jobIds: readonly string[]): RunCommand {
  let days: number | undefined;
  let start: TimeRef | undefined;
  let seed: number | undefined;
  let logFile: string | undefined;
  let named: NamedScenario | undefined;
  let exactSnapshots = false;
  const faults: RawFault[] = [];

  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index];
    if (arg === '--exact-snapshots') {
      exactSnapshots = true;
      continue;
    }
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? splitOnce(arg, '=') : [arg, undefined];
    if (!(VALUE_OPTIONS as readonly string[]).includes(name)) {
      throw new ArgError(`unknown option "${arg}"; see --help`);
    }
    const option = name as ValueOption;
    const value = inline ?? argv[(index += 1)];
    if (value === undefined || value === '' || (inline === undefined && value.startsWith('--'))) {
      throw new ArgError(`${option} needs a value, for example ${EXAMPLES[option]}`);
    }
    const once = <T>(current: T | undefined): void => {
      if (current !== undefined) throw new ArgError(`${option} is given twice; give it once`);
    };
    switch (option) {
      case '--scenario': {
        once(named);
        named = findScenario(value);
        if (!named) {
          throw new ArgError(
            `--scenario: unknown scenario "${value}"; scenarios: ${SCENARIO_NAMES.join(', ')}`,
          );
        }
        break;
      }
      case '--days': {
        once(days);
        const number = Number(value);
        if (!/^\d+(\.\d+)?$/.test(value) || !(number > 0) || number > MAX_DAYS) {
          throw new ArgError(
            `--days: "${value}" is not a number of days above 0 and at most ${MAX_DAYS}, for example --days 7 or --days 0.5`,
          );
        }
        days = number;
        break;
      }
      case '--start': {
        once(start);
        start = parseTime(value, option);
        if (!('absoluteMs' in start)) {
          throw new ArgError(`--start: "${value}" is relative; expected a time such as ${DEFAULT_START}`);
        }
        break;
      }
      case '--seed': {
        once(seed);
        if (!/^\d+$/.test(value) || Number(value) > 0xffffffff) {
          throw new ArgError(
            `--seed: "${value}" is not a whole number from 0 to 4294967295, for example --seed 42`,
          );
        }
        seed = Number(value);
        break;
      }
      case '--log':
        once(logFile);
        logFile = value;
        break;
      case '--never-deployed':
        faults.push({ kind: 'never-deployed', jobId: checkJob(value, option, jobIds), option });
        break;
      case '--fleet-outage':
        faults.push({
          kind: 'fleet-outage',
          window: parseWindow(value.replace(/^@/, ''), option, `${option} <from>..<to>`),
          option,
        });
        break;
      case '--fail-rate': {
        const at = value.indexOf('@');
        const head = at < 0 ? value : value.slice(0, at);
        const equals = head.indexOf('=');
        if (equals < 0) {
          throw new ArgError(
            `${option}: "${value}" has no probability; expected ${option} <job>=<p>[@<from>..<to>], for example ${EXAMPLES[option]}`,
          );
        }
        const jobId = checkJob(head.slice(0, equals), option, jobIds);
        const probability = parseProbability(head.slice(equals + 1), option);
        const window =
          at < 0 ? undefined : parseWindow(value.slice(at + 1), option, `${option} <job>=<p>[@<from>..<to>]`);
        faults.push({ kind: 'fail-rate', jobId, probability, window, option });
        break;
      }
      default: {
        const kind = option.slice(2) as 'fail' | 'timeout' | 'duplicate' | 'outage';
        faults.push({ kind, ...parseJobWindow(value, option, jobIds), option });
      }
    }
  }

  const startMs = start && 'absoluteMs' in start ? start.absoluteMs : Date.parse(DEFAULT_START);
  const endMs = startMs + Math.round((days ?? named?.days ?? DEFAULT_DAYS) * DAY_MS);
  return {
    kind: 'run',
    scenario: {
      startMs,
      endMs,
      seed: seed ?? DEFAULT_SEED,
      faults: [
        ...(named?.faults(startMs) ?? []),
        ...faults.map((fault) => resolveFault(fault, startMs, endMs)),
      ],
    },
    ...(named ? { scenarioName: named.name, ...(named.jobs ? { jobs: named.jobs } : {}) } : {}),
    logFile,
    exactSnapshots,
  };
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return [text.slice(0, at), text.slice(at + 1)];
}
