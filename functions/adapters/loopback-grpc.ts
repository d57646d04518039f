/**
 * Options that point a gRPC client library at a loopback stand-in: plain (insecure) gRPC to
 * 127.0.0.1 and an auth client that never looks for credentials (see loopback.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { PassThroughClient } from 'google-auth-library';
import { loopbackHostPort } from './loopback';
import type { LoopbackTarget } from './loopback';

export type LoopbackClientOptions = LoopbackTarget & { sslCreds: grpc.ChannelCredentials };

/** A gRPC client library's options for a loopback stand-in: plain gRPC to 127.0.0.1. */
export function loopbackClientOptions(endpoint: string, projectId: string): LoopbackClientOptions {
  const { host, port } = loopbackHostPort(endpoint);
  return {
    apiEndpoint: host,
    port,
    sslCreds: grpc.credentials.createInsecure(),
    authClient: new PassThroughClient(),
    projectId: projectId || 'enx-local',
  };
}
