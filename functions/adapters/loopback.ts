/**
 * Options that point a Google client library at a loopback stand-in: plain gRPC to 127.0.0.1, and
 * an auth client that never looks for credentials, so the library never probes the cloud metadata
 * server (which would be traffic off this machine). Production never sets the endpoint settings
 * that lead here.
 */
import * as grpc from '@grpc/grpc-js';
import { PassThroughClient } from 'google-auth-library';

export type LoopbackClientOptions = {
  apiEndpoint: string;
  port: number;
  sslCreds: grpc.ChannelCredentials;
  authClient: PassThroughClient;
  projectId: string;
};

export function loopbackClientOptions(endpoint: string, projectId: string): LoopbackClientOptions {
  const match = /^(127\.0\.0\.1|localhost|\[::1\]):(\d+)$/.exec(endpoint.trim());
  if (!match) {
    throw new Error(`API endpoint "${endpoint}" must be a loopback host:port such as 127.0.0.1:8085`);
  }
  return {
    apiEndpoint: match[1],
    port: Number(match[2]),
    sslCreds: grpc.credentials.createInsecure(),
    authClient: new PassThroughClient(),
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
