/**
 * What every loopback Google gRPC fake shares: the service definition loaded from the protos the
 * client package ships, a unary implementation that records each request and answers injected
 * failures first, and a server bound to 127.0.0.1 on a free port.
 */
import * as grpc from '@grpc/grpc-js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';

/** The folder of an installed package, found from its main file (some packages do not export package.json). */
function packageRoot(name: string, from?: string): string {
  let dir = path.dirname(require.resolve(name, from ? { paths: [from] } : undefined));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

/** The protos the client packages ship, plus google-gax's common ones (google/api, google/rpc, ...). */
export function protoDirs(clientPackage: string): string[] {
  const client = packageRoot(clientPackage);
  return [
    path.join(client, 'build', 'protos'),
    path.join(packageRoot('google-gax', client), 'build', 'protos'),
  ];
}

export interface RecordedCall {
  readonly method: string;
  readonly request: Record<string, unknown>;
}

/** The next `count` calls of `method` (or of any method) fail with `code`. */
export interface InjectedFailure {
  count: number;
  readonly code: grpc.status;
  readonly message: string;
  readonly method?: string;
}

export type UnaryHandler = (request: Record<string, unknown>) => unknown;

export const grpcError = (code: grpc.status, details: string): grpc.ServiceError =>
  ({ code, details }) as grpc.ServiceError;

/** The service at `servicePath` (e.g. google.cloud.kms.v1.KeyManagementService) of a shipped proto. */
export function loadService(
  protoFile: string,
  clientPackage: string,
  servicePath: string,
): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync(protoFile, {
    includeDirs: protoDirs(clientPackage),
    keepCase: false,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  let node: unknown = grpc.loadPackageDefinition(definition);
  for (const part of servicePath.split('.')) node = (node as Record<string, unknown>)[part];
  const service = (node as { service?: grpc.ServiceDefinition } | undefined)?.service;
  if (!service) throw new Error(`${protoFile} has no service ${servicePath}`);
  return service;
}

/** Unary methods that record every call, answer injected failures first, and turn throws into errors. */
export function recordingUnaryService(
  handlers: Record<string, UnaryHandler>,
  calls: RecordedCall[],
  failures: InjectedFailure[],
): grpc.UntypedServiceImplementation {
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [method, handle] of Object.entries(handlers)) {
    implementation[method] = (
      call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      calls.push({ method, request: call.request });
      const injected = failures.find((f) => f.count > 0 && (f.method === undefined || f.method === method));
      if (injected) {
        injected.count -= 1;
        callback(grpcError(injected.code, injected.message), null);
        return;
      }
      try {
        callback(null, handle(call.request));
      } catch (error) {
        callback(error as grpc.ServiceError, null);
      }
    };
  }
  return implementation;
}

/** Binds the server to a free port on 127.0.0.1 (insecure: loopback only) and returns the port. */
export function listenOnLoopback(server: grpc.Server): Promise<number> {
  return new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
}
