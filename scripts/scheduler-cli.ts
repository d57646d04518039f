/**
 * The operator's handle on the deployed schedule, as the runbooks use it:
 *
 *   npm run jobs -- status|pause|resume|run <job id>|all --project <id> --location <region>
 *
 * `run` asks Cloud Scheduler to call the job now; the runtime's ledger keeps that from repeating
 * work a scheduled run already did. `pause` stops a job's schedule (its ForwardProgressFailed alert
 * will still fire once its window passes). Job ids are checked against the catalog, so a typo is an
 * error, not a silent no-op.
 */
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { catalog } from '../functions/catalog';
import { loopbackClientOptions } from '../functions/adapters/loopback';

export const COMMANDS = ['status', 'pause', 'resume', 'run'] as const;
export type Command = (typeof COMMANDS)[number];

export interface CliRequest {
  readonly command: Command;
  readonly jobIds: readonly string[];
  readonly project: string;
  readonly location: string;
  /** A loopback Cloud Scheduler stand-in (host:port), for tests. */
  readonly endpoint?: string;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE =
  'usage: npm run jobs -- status|pause|resume|run <job id>|all --project <project id> --location <region>';

export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CliRequest {
  const positional: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg.startsWith('--')) {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--'))
        throw new UsageError(`${arg} needs a value\n${USAGE}`);
      flags[arg.slice(2)] = value;
      i += 1;
    } else positional.push(arg);
  }
  const [command, target] = positional;
  if (!COMMANDS.includes(command as Command))
    throw new UsageError(`unknown command "${command ?? ''}"\n${USAGE}`);
  const ids = catalog.map((job) => job.id as string);
  if (!target) throw new UsageError(`name a job (${ids.join(', ')}) or all\n${USAGE}`);
  if (target !== 'all' && !ids.includes(target)) {
    throw new UsageError(`"${target}" is not a job of the catalog; the jobs are ${ids.join(', ')}`);
  }
  const project = flags.project ?? env.GOOGLE_CLOUD_PROJECT;
  const location = flags.location ?? env.GOOGLE_CLOUD_REGION;
  if (!project) throw new UsageError(`--project is required (or GOOGLE_CLOUD_PROJECT)\n${USAGE}`);
  if (!location)
    throw new UsageError(`--location is required (or GOOGLE_CLOUD_REGION): the scheduler's region\n${USAGE}`);
  return {
    command: command as Command,
    jobIds: target === 'all' ? ids : [target],
    project,
    location,
    endpoint: flags.endpoint,
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

export async function runCli(request: CliRequest, out: (line: string) => void): Promise<void> {
  const client = new CloudSchedulerClient(
    request.endpoint
      ? loopbackClientOptions(request.endpoint, request.project)
      : { projectId: request.project },
  );
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
        request.command
      ];
      out(`${verb}${describeJob(id, job as Job)}`);
    }
  } finally {
    await client.close();
  }
}

if (require.main === module) {
  // A loopback stand-in needs no credentials: never let the auth library look for the metadata server.
  if (process.argv.includes('--endpoint')) process.env.METADATA_SERVER_DETECTION = 'none';
  let request: CliRequest;
  try {
    request = parseCli(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  runCli(request, (line) => process.stdout.write(`${line}\n`)).catch((error: unknown) => {
    process.stderr.write(`jobs: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
