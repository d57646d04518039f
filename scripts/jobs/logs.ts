/**
 * `npm run jobs -- logs <job> [--since 1h] [--tick T] [--severity WARNING] [--follow]`: the job's
 * entries through the Logging API, with the filter the runbooks print (functions/alerts/log-filters.ts),
 * one readable line each, oldest first; --follow then tails new ones until Ctrl-C.
 */
import type { Entry, Logging } from '@google-cloud/logging';
import { jobLogFilter, logsExplorerUrl } from '../../functions/alerts/log-filters';
import type { LogSeverity } from '../../functions/alerts/log-filters';
import { loggingClient } from './clients';
import type { Endpoints } from './clients';
import { formatJobEvent, jobEvent } from './log-lines';

export interface LogsRequest {
  readonly jobId: string;
  readonly project: string;
  readonly endpoints: Endpoints;
  readonly since: Date;
  readonly tick?: string;
  readonly severity?: LogSeverity;
  readonly follow: boolean;
  /** Most lines printed before following. */
  readonly limit: number;
}

/** The newest `limit` matching entries, oldest first. */
export async function recentEntries(logging: Logging, filter: string, limit: number): Promise<Entry[]> {
  const [entries] = await logging.getEntries({
    filter,
    orderBy: 'timestamp desc',
    pageSize: limit,
    autoPaginate: false,
  });
  return entries.reverse();
}

export async function printLogs(
  request: LogsRequest,
  out: (line: string) => void,
  stop?: AbortSignal,
): Promise<void> {
  const logging = loggingClient(request.project, request.endpoints);
  const { jobId, severity, tick } = request;
  const filter = jobLogFilter({ jobId, severity, tick, since: request.since });
  const entries = await recentEntries(logging, filter, request.limit);
  out(
    `# ${entries.length} entries of ${jobId} since ${request.since.toISOString()} · ${logsExplorerUrl(request.project, filter)}`,
  );
  for (const entry of entries) out(formatJobEvent(jobEvent(entry)));
  if (!request.follow) return;
  out('# following new entries (Ctrl-C stops)');
  await follow(logging, jobLogFilter({ jobId, severity, tick }), out, stop);
}

/** Tails until `stop` aborts (or the stream ends); rejects on a stream error. */
function follow(
  logging: Logging,
  filter: string,
  out: (line: string) => void,
  stop?: AbortSignal,
): Promise<void> {
  const stream = logging.tailEntries({ filter });
  return new Promise((resolve, reject) => {
    const finish = () => {
      (stream as unknown as { abort?: () => void }).abort?.();
      stream.end();
      resolve();
    };
    if (stop?.aborted) return finish();
    stop?.addEventListener('abort', finish, { once: true });
    stream.on('data', (response: { entries: Entry[] }) => {
      for (const entry of response.entries) out(formatJobEvent(jobEvent(entry)));
    });
    stream.on('error', (error: Error) => {
      // Cancelling our own stream is how following ends.
      if (stop?.aborted) resolve();
      else reject(error);
    });
    stream.on('end', resolve);
  });
}
