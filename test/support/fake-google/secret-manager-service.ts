/**
 * A loopback stand-in for Secret Manager's API, built from the protos @google-cloud/secret-manager
 * ships, speaking real gRPC on 127.0.0.1. Secrets and versions live in memory and behave as the
 * real service answers them: adding to a missing secret is NOT_FOUND, reading or destroying a
 * destroyed version is FAILED_PRECONDITION, payload checksums are checked, versions are listed
 * newest first in pages. It records every request and can be told to fail calls.
 */
import * as grpc from '@grpc/grpc-js';
import { crc32c } from '../../../functions/adapters/crc32c';
import { loopbackClientOptions } from '../../../functions/adapters/loopback-grpc';
import type { LoopbackClientOptions } from '../../../functions/adapters/loopback-grpc';
import {
  grpcError as failure,
  listenOnLoopback,
  loadService,
  recordingUnaryService,
} from '../../../local/fake-google/grpc-fake';
import type { InjectedFailure, RecordedCall } from '../../../local/fake-google/grpc-fake';

export type RecordedSecretCall = RecordedCall;

interface FakeSecretVersion {
  name: string;
  state: 'ENABLED' | 'DISABLED' | 'DESTROYED';
  data: Buffer;
  createTime: { seconds: number; nanos: number };
  destroyTime?: { seconds: number; nanos: number };
}

export interface FakeSecretManager {
  readonly port: number;
  readonly calls: RecordedSecretCall[];
  /** Secret name → its replication and next version number. */
  readonly secrets: Map<string, { replication: unknown; nextVersion: number }>;
  readonly versions: Map<string, FakeSecretVersion>;
  /** The next `count` calls of `method` (or of any method) fail with this code. */
  failNext(count: number, code: grpc.status, message?: string, method?: string): void;
  /** The next access answers a payload whose checksum does not match, as a corrupted transfer would. */
  corruptNextAccess(): void;
  clientOptions(): LoopbackClientOptions;
  close(): Promise<void>;
}

export async function startFakeSecretManager(
  options: { pageSize?: number } = {},
): Promise<FakeSecretManager> {
  const service = loadService(
    'google/cloud/secretmanager/v1/service.proto',
    '@google-cloud/secret-manager',
    'google.cloud.secretmanager.v1.SecretManagerService',
  );
  const calls: RecordedSecretCall[] = [];
  const secrets = new Map<string, { replication: unknown; nextVersion: number }>();
  const versions = new Map<string, FakeSecretVersion>();
  const failures: InjectedFailure[] = [];
  let corruptAccess = false;
  let clock = Date.now();
  // Strictly increasing creation times, so newest-first is well defined even within a millisecond.
  const now = () => {
    clock = Math.max(clock + 1, Date.now());
    return { seconds: Math.floor(clock / 1000), nanos: (clock % 1000) * 1e6 };
  };
  const view = ({ data: _data, ...rest }: FakeSecretVersion) => rest;
  const version = (name: string) => {
    const found = versions.get(name);
    if (!found) throw failure(grpc.status.NOT_FOUND, `Secret Version [${name}] not found.`);
    return found;
  };

  const handlers: Record<string, (request: Record<string, unknown>) => unknown> = {
    createSecret(request) {
      const name = `${String(request.parent)}/secrets/${String(request.secretId)}`;
      if (secrets.has(name)) throw failure(grpc.status.ALREADY_EXISTS, `Secret [${name}] already exists.`);
      const replication = (request.secret as { replication?: unknown } | undefined)?.replication;
      if (!replication) throw failure(grpc.status.INVALID_ARGUMENT, 'Secret.replication is required.');
      secrets.set(name, { replication, nextVersion: 1 });
      return { name, replication, createTime: now() };
    },
    addSecretVersion(request) {
      const parent = String(request.parent);
      const secret = secrets.get(parent);
      if (!secret) throw failure(grpc.status.NOT_FOUND, `Secret [${parent}] not found or has no versions.`);
      const payload = (request.payload ?? {}) as { data?: Buffer; dataCrc32c?: string };
      const data = Buffer.from(payload.data ?? []);
      if (payload.dataCrc32c !== undefined && Number(payload.dataCrc32c) !== crc32c(data)) {
        throw failure(
          grpc.status.INVALID_ARGUMENT,
          'Checksum mismatch: data_crc32c does not match the payload.',
        );
      }
      const created: FakeSecretVersion = {
        name: `${parent}/versions/${secret.nextVersion}`,
        state: 'ENABLED',
        data,
        createTime: now(),
      };
      secret.nextVersion += 1;
      versions.set(created.name, created);
      return view(created);
    },
    accessSecretVersion(request) {
      const found = version(String(request.name));
      if (found.state !== 'ENABLED') {
        throw failure(
          grpc.status.FAILED_PRECONDITION,
          `Secret Version [${found.name}] is in ${found.state} state.`,
        );
      }
      const checksum = crc32c(found.data) + (corruptAccess ? 1 : 0);
      corruptAccess = false;
      return { name: found.name, payload: { data: found.data, dataCrc32c: String(checksum) } };
    },
    getSecretVersion: (request) => view(version(String(request.name))),
    destroySecretVersion(request) {
      const found = version(String(request.name));
      if (found.state === 'DESTROYED') {
        throw failure(
          grpc.status.FAILED_PRECONDITION,
          `Secret Version [${found.name}] is in DESTROYED state.`,
        );
      }
      found.state = 'DESTROYED';
      found.data = Buffer.alloc(0);
      found.destroyTime = now();
      return view(found);
    },
    listSecretVersions(request) {
      const parent = String(request.parent);
      if (!secrets.has(parent)) throw failure(grpc.status.NOT_FOUND, `Secret [${parent}] not found.`);
      const all = [...versions.values()].filter((v) => v.name.startsWith(`${parent}/versions/`)).reverse();
      const size = Number(request.pageSize) || options.pageSize || 25_000;
      const offset = request.pageToken ? Number(request.pageToken) : 0;
      return {
        versions: all.slice(offset, offset + size).map(view),
        nextPageToken: offset + size < all.length ? String(offset + size) : '',
        totalSize: all.length,
      };
    },
  };

  const server = new grpc.Server();
  server.addService(service, recordingUnaryService(handlers, calls, failures));
  const port = await listenOnLoopback(server);
  return {
    port,
    calls,
    secrets,
    versions,
    failNext(count, code, message = 'injected failure', method) {
      failures.push({ count, code, message, method });
    },
    corruptNextAccess() {
      corruptAccess = true;
    },
    clientOptions: () => loopbackClientOptions(`127.0.0.1:${port}`, 'enx-local'),
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
