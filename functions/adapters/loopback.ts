/**
 * Options that point a Google client library at a loopback stand-in, and an auth client that never
 * looks for credentials, so the library never probes the cloud metadata server (which would be
 * traffic off this machine). Production never sets the endpoint settings that lead here.
 *
 * Two transports, as the client libraries have two: HTTP/1.1 REST here (Cloud Monitoring, see
 * monitoring-writer.ts) and gRPC in loopback-grpc.ts (KMS, Secret Manager, Scheduler, Logging). They
 * are apart so that the REST path never loads @grpc/grpc-js.
 */
import { PassThroughClient } from 'google-auth-library';

/** How the auth client's HTTP client (gaxios) sends requests. */
type TransporterOptions = NonNullable<
  ConstructorParameters<typeof PassThroughClient>[0]
>['transporterOptions'];

/** Where a client library sends its calls, and the auth client that adds no credentials. */
export type LoopbackTarget = {
  apiEndpoint: string;
  port: number;
  authClient: PassThroughClient;
  projectId: string;
};

/** The REST transport of a client library (google-gax's `fallback`), in plain HTTP to 127.0.0.1. */
export type LoopbackRestClientOptions = LoopbackTarget & { fallback: true; protocol: 'http' };

/** Host and port of a loopback endpoint such as 127.0.0.1:8085; anything else is refused. */
export function loopbackHostPort(endpoint: string): { host: string; port: number } {
  const match = /^(127\.0\.0\.1|localhost|\[::1\]):(\d+)$/.exec(endpoint.trim());
  if (!match) {
    throw new Error(`API endpoint "${endpoint}" must be a loopback host:port such as 127.0.0.1:8085`);
  }
  return { host: match[1], port: Number(match[2]) };
}

/** A client library's REST transport pointed at a loopback stand-in, in plain HTTP. */
export function loopbackRestClientOptions(
  endpoint: string,
  projectId: string,
  transporterOptions: TransporterOptions = {},
): LoopbackRestClientOptions {
  const { host, port } = loopbackHostPort(endpoint);
  return {
    apiEndpoint: host,
    port,
    protocol: 'http',
    fallback: true,
    authClient: new PassThroughClient({ transporterOptions }),
    projectId: projectId || 'enx-local',
  };
}

/**
 * A REST API's base URL for a loopback stand-in (http://127.0.0.1:<port>); anything else is refused
 * so a test setting can never send unauthenticated requests off the machine.
 */
export function loopbackHttpEndpoint(endpoint: string): string {
  const url = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):(\d+)\/?$/.exec(endpoint.trim());
  if (!url) {
    throw new Error(`API endpoint "${endpoint}" must be a loopback URL such as http://127.0.0.1:8086`);
  }
  return endpoint.trim().replace(/\/$/, '');
}
