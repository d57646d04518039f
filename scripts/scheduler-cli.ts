/**
 * The operator's handle on the deployed fleet, as the runbooks use it:
 *
 *   npm run jobs -- status|pause|resume|run <job id>|all --project <id> --location <region>
 *   npm run jobs -- logs <job id> [--since 1h] [--tick T] [--severity WARNING] [--follow]
 *   npm run jobs -- triage <job id>
 *
 * `run` asks Cloud Scheduler to call the job now; the runtime's ledger keeps that from repeating
 * work a scheduled run already did. `pause` stops a job's schedule (its ForwardProgressFailed alert
 * will still fire once its window passes). `logs` and `triage` read the Logging API with the
 * runbooks' filter (scripts/jobs/). `--local` points every command at the running local fleet's
 * stand-ins instead of Google. Job ids are checked against the catalog, so a typo is an error, not
 * a silent no-op.
 */
import path from 'node:path';
import { catalog } from '../functions/catalog';
import { LOG_SEVERITIES } from '../functions/alerts/log-filters';
import type { LogSeverity } from '../functions/alerts/log-filters';
import { parseDurationMs } from '../functions/core/duration';
import { readLocalApis } from '../local/google-apis';
import { LocalSetupError } from '../local/setup-error';
import { schedulerClient } from './jobs/clients';
import type { Endpoints } from './jobs/clients';
import { printLogs } from './jobs/logs';
import { triage } from './jobs/triage';

export const COMMANDS = ['status', 'pause', 'resume', 'run', 'logs', 'triage'] as const;
const ONE_JOB_COMMANDS: readonly Command[] = ['logs', 'triage'];
const BOOLEAN_FLAGS = ['follow', 'local'];
/** Where `npm start` keeps its data (and local-apis.json) unless told otherwise. */
const DEFAULT_DATA_DIR = path.resolve(__dirname, '..', '.data');
const DEFAULT_SINCE_MS = 3_600_000;
const LOGS_LIMIT = 200;
export type Command = (typeof COMMANDS)[number];

export interface CliRequest {
  readonly command: Command;
  readonly jobIds: readonly string[];
  readonly project: string;
  readonly location: string;
  /** Loopback stand-ins (host:port) instead of Google: --local, or --endpoint / --logging-endpoint. */
  readonly endpoints: Endpoints;
  /** The local fleet's status server, when --local. */
  readonly statusUrl?: string;
  /** logs: entries at or after this instant. */
  readonly since: Date;
  readonly tick?: string;
  readonly severity?: LogSeverity;
  readonly follow: boolean;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE = [
  'usage: npm run jobs -- status|pause|resume|run <job id>|all --project <project id> --location <region>',
  '       npm run jobs -- logs <job id> [--since 1h] [--tick <schedule time>] [--severity WARNING] [--follow] --project <project id>',
  '       npm run jobs -- triage <job id> --project <project id> --location <region>',
  '       (--local instead of --project/--location: the fleet `npm start` runs, found through .data/local-apis.json or --data-dir)',
].join('\n');

function splitArgs(argv: readonly string[]): { positional: string[]; flags: Record<string, string> } {
  const positional: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const name = arg.slice(2);
    if (BOOLEAN_FLAGS.includes(name)) {
      flags[name] = 'true';
      continue;
    }
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${arg} needs a value\n${USAGE}`);
    flags[name] = value;
    i += 1;
  }
  return { positional, flags };
}

function parseSince(text: string | undefined, now: Date): Date {
  if (text === undefined) return new Date(now.getTime() - DEFAULT_SINCE_MS);
  const ms = parseDurationMs(text);
  if (ms !== undefined && ms > 0) return new Date(now.getTime() - ms);
  const at = Date.parse(text);
  if (!Number.isNaN(at)) return new Date(at);
  throw new UsageError(
    `--since "${text}" is neither a duration (30m, 1h, 24h) nor a time (2026-12-06T05:00:00Z)`,
  );
}

function parseSeverity(text: string | undefined): LogSeverity | undefined {
  if (text === undefined) return undefined;
  const name = text.toUpperCase();
  if (!(LOG_SEVERITIES as readonly string[]).includes(name)) {
    throw new UsageError(`--severity "${text}" is not one of ${LOG_SEVERITIES.join(', ')}`);
  }
  return name as LogSeverity;
}

function parseTick(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at))
    throw new UsageError(`--tick "${text}" is not a schedule time such as 2026-12-06T05:00:00Z`);
  // The tick label is the schedule time as the runtime writes it (ISO 8601 with milliseconds).
  return new Date(at).toISOString();
}

export function parseCli(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  now = new Date(),
): CliRequest {
  const { positional, flags } = splitArgs(argv);
  const [command, target] = positional;
  if (!COMMANDS.includes(command as Command))
    throw new UsageError(`unknown command "${command ?? ''}"\n${USAGE}`);
  const ids = catalog.map((job) => job.id as string);
  if (!target) throw new UsageError(`name a job (${ids.join(', ')}) or all\n${USAGE}`);
  if (target === 'all' && ONE_JOB_COMMANDS.includes(command as Command))
    throw new UsageError(`${command} takes one job, not all`);
  if (target !== 'all' && !ids.includes(target)) {
    throw new UsageError(`"${target}" is not a job of the catalog; the jobs are ${ids.join(', ')}`);
  }
  const local = flags.local ? readLocalApis(flags['data-dir'] ?? DEFAULT_DATA_DIR) : undefined;
  const project = local?.project ?? flags.project ?? env.GOOGLE_CLOUD_PROJECT;
  const location = local?.location ?? flags.location ?? env.GOOGLE_CLOUD_REGION;
  if (!project) throw new UsageError(`--project is required (or GOOGLE_CLOUD_PROJECT, or --local)\n${USAGE}`);
  if (!location && command !== 'logs')
    throw new UsageError(`--location is required (or GOOGLE_CLOUD_REGION): the scheduler's region\n${USAGE}`);
  return {
    command: command as Command,
    jobIds: target === 'all' ? ids : [target],
    project,
    location: location ?? '',
    endpoints: {
      scheduler: local?.scheduler ?? flags.endpoint,
      logging: local?.logging ?? flags['logging-endpoint'],
    },
    statusUrl: local?.status,
    since: parseSince(flags.since, now),
    tick: parseTick(flags.tick),
    severity: parseSeverity(flags.severity),
    follow: flags.follow === 'true',
  };
}

type Job = {
  name?: string | null;
  state?: unknown;
  schedule?: string | null;
  timeZone?: string | null;
  lastAttemptTime?: { seconds?: unknown } | null;
};

function describeJob(id: string, job: Job): string {
  const last = job.lastAttemptTime?.seconds
    ? new Date(Number(job.lastAttemptTime.seconds) * 1000).toISOString()
    : 'never';
  return `${id.padEnd(27)} ${String(job.state ?? 'UNKNOWN').padEnd(8)} ${job.schedule ?? ''} (${job.timeZone ?? ''})  last attempt ${last}`;
}

async function runScheduleCommand(request: CliRequest, out: (line: string) => void): Promise<void> {
  const client = schedulerClient(request.project, request.endpoints);
  try {
    for (const id of request.jobIds) {
      const name = `projects/${request.project}/locations/${request.location}/jobs/${id}`;
      const [job] =
        request.command === 'pause'
          ? await client.pauseJob({ name })
          : request.command === 'resume'
            ? await client.resumeJob({ name })
            : request.command === 'run'
              ? await client.runJob({ name })
              : await client.getJob({ name });
      const verb = { status: '', pause: 'paused: ', resume: 'resumed: ', run: 'asked to run now: ' }[
        request.command as 'status' | 'pause' | 'resume' | 'run'
      ];
      out(`${verb}${describeJob(id, job as Job)}`);
    }
  } finally {
    await client.close();
  }
}

export async function runCli(
  request: CliRequest,
  out: (line: string) => void,
  stop?: AbortSignal,
): Promise<void> {
  const [jobId] = request.jobIds;
  if (request.command === 'logs') {
    const { project, endpoints, since, tick, severity, follow } = request;
    await printLogs(
      { jobId, project, endpoints, since, tick, severity, follow, limit: LOGS_LIMIT },
      out,
      stop,
    );
  } else if (request.command === 'triage') {
    const { project, location, endpoints, statusUrl } = request;
    await triage({ jobId, project, location, endpoints, statusUrl }, out);
  } else {
    await runScheduleCommand(request, out);
  }
}

if (require.main === module) {
  // A loopback stand-in needs no credentials: never let the auth library look for the metadata server.
  if (process.argv.some((arg) => ['--endpoint', '--logging-endpoint', '--local'].includes(arg)))
    process.env.METADATA_SERVER_DETECTION = 'none';
  let request: CliRequest;
  try {
    request = parseCli(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(error instanceof LocalSetupError ? 1 : 2);
  }
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  runCli(request, (line) => process.stdout.write(`${line}\n`), stop.signal).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`jobs: ${(error as Error).message}\n`);
      process.exit(1);
    },
  );
}
