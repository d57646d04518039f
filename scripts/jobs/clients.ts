/**
 * The Google clients the jobs CLI uses: against Google with the operator's credentials, or, with
 * endpoints given (`--local`, tests), against loopback stand-ins with PassThroughClient so the auth
 * library never looks for credentials or the metadata server.
 */
import { Logging } from '@google-cloud/logging';
import type { LoggingOptions } from '@google-cloud/logging';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { loopbackClientOptions } from '../../functions/adapters/loopback-grpc';

export interface Endpoints {
  /** host:port of a loopback Cloud Scheduler API. */
  readonly scheduler?: string;
  /** host:port of a loopback Logging API. */
  readonly logging?: string;
}

export function schedulerClient(project: string, endpoints: Endpoints): CloudSchedulerClient {
  return new CloudSchedulerClient(
    endpoints.scheduler ? loopbackClientOptions(endpoints.scheduler, project) : { projectId: project },
  );
}

export function loggingClient(project: string, endpoints: Endpoints): Logging {
  // @google-cloud/logging types a nested copy of google-auth-library; the PassThroughClient is the same class.
  const options = endpoints.logging
    ? (loopbackClientOptions(endpoints.logging, project) as unknown as LoggingOptions)
    : { projectId: project };
  return new Logging(options);
}
