/**
 * A loopback stand-in for Cloud KMS's KeyManagementService, built from the protos @google-cloud/kms
 * ships, speaking real gRPC on 127.0.0.1. Keys and versions live in memory; versions are real P-256
 * keys, so signatures verify with the public key it hands out. Like KMS, a new asymmetric version is
 * PENDING_GENERATION at first, destroying is a schedule (DESTROY_SCHEDULED), lists come in pages,
 * and checksums are checked both ways. It records every request, and can be told to fail calls or to
 * corrupt its answers so tests see the adapter notice.
 */
import { generateKeyPairSync } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { crc32c } from '../../../functions/adapters/crc32c';
import { loopbackClientOptions } from '../../../functions/adapters/loopback-grpc';
import type { LoopbackClientOptions } from '../../../functions/adapters/loopback-grpc';
import { signP256Digest } from '../../../functions/adapters/p256-prehashed';
import {
  grpcError as failure,
  listenOnLoopback,
  loadService,
  recordingUnaryService,
} from '../../../local/fake-google/grpc-fake';
import type { InjectedFailure, RecordedCall } from '../../../local/fake-google/grpc-fake';

export type RecordedKmsCall = RecordedCall;

interface FakeKey {
  name: string;
  purpose: string;
  versionTemplate: { algorithm: string; protectionLevel: string };
  createTime: { seconds: number };
  nextVersion: number;
}

interface FakeVersion {
  name: string;
  state: string;
  algorithm: string;
  protectionLevel: string;
  createTime: { seconds: number; nanos: number };
  privatePem: string;
  publicPem: string;
  /** GetCryptoKeyVersion reads still answered PENDING_GENERATION. */
  pendingReads: number;
}

/** Ways the fake can misbehave in its answers, as a broken network or server would. */
export type KmsCorruption = 'signature-crc32c' | 'signature-name' | 'digest-unverified' | 'pem-crc32c';

export interface FakeKms {
  readonly port: number;
  readonly calls: RecordedKmsCall[];
  readonly keys: Map<string, FakeKey>;
  readonly versions: Map<string, FakeVersion>;
  /** Key rings that exist; creating a key elsewhere is NOT_FOUND, as in KMS. */
  readonly keyRings: Set<string>;
  /** The next `count` calls of `method` (or of any method) fail with this code. */
  failNext(count: number, code: grpc.status, message?: string, method?: string): void;
  /** Reads of versions created from now on that still answer PENDING_GENERATION. */
  setPendingReads(reads: number): void;
  /** Answers of the next matching calls are corrupted. */
  corruptNext(corruption: KmsCorruption): void;
  clientOptions(): LoopbackClientOptions;
  close(): Promise<void>;
}

export interface FakeKmsOptions {
  /** Key rings that exist from the start. */
  readonly keyRings?: readonly string[];
  /** Reads of a new version that still say PENDING_GENERATION (KMS generates asymmetric keys asynchronously). */
  readonly pendingReads?: number;
  /** Versions per ListCryptoKeyVersions page when the request asks for none. */
  readonly pageSize?: number;
}

export async function startFakeKms(options: FakeKmsOptions = {}): Promise<FakeKms> {
  const service = loadService(
    'google/cloud/kms/v1/service.proto',
    '@google-cloud/kms',
    'google.cloud.kms.v1.KeyManagementService',
  );
  const calls: RecordedKmsCall[] = [];
  const keys = new Map<string, FakeKey>();
  const versions = new Map<string, FakeVersion>();
  const keyRings = new Set(options.keyRings ?? []);
  const failures: InjectedFailure[] = [];
  const corruptions: KmsCorruption[] = [];
  let pendingReads = options.pendingReads ?? 1;
  const now = () => {
    const ms = Date.now();
    return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
  };

  const newVersion = (key: FakeKey): FakeVersion => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const version: FakeVersion = {
      name: `${key.name}/cryptoKeyVersions/${key.nextVersion}`,
      state: 'PENDING_GENERATION',
      algorithm: key.versionTemplate.algorithm,
      protectionLevel: key.versionTemplate.protectionLevel,
      createTime: now(),
      privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      pendingReads,
    };
    if (version.pendingReads === 0) version.state = 'ENABLED';
    key.nextVersion += 1;
    versions.set(version.name, version);
    return version;
  };
  /** What GetCryptoKeyVersion and friends answer; a version finishes generating as it is read. */
  const view = (version: FakeVersion) => {
    if (version.state === 'PENDING_GENERATION') {
      if (version.pendingReads > 0) version.pendingReads -= 1;
      else version.state = 'ENABLED';
    }
    const { privatePem: _private, publicPem: _public, pendingReads: _reads, ...rest } = version;
    return rest;
  };
  const version = (name: string) => {
    const found = versions.get(name);
    if (!found) throw failure(grpc.status.NOT_FOUND, `CryptoKeyVersion ${name} not found.`);
    return found;
  };

  const handlers: Record<string, (request: Record<string, unknown>) => unknown> = {
    createCryptoKey(request) {
      const parent = String(request.parent);
      if (!keyRings.has(parent)) throw failure(grpc.status.NOT_FOUND, `KeyRing ${parent} not found.`);
      const name = `${parent}/cryptoKeys/${String(request.cryptoKeyId)}`;
      if (keys.has(name)) throw failure(grpc.status.ALREADY_EXISTS, `CryptoKey ${name} already exists.`);
      const body = (request.cryptoKey ?? {}) as {
        purpose?: string;
        versionTemplate?: FakeKey['versionTemplate'];
      };
      const key: FakeKey = {
        name,
        purpose: body.purpose ?? 'ENCRYPT_DECRYPT',
        versionTemplate: {
          algorithm: body.versionTemplate?.algorithm ?? 'GOOGLE_SYMMETRIC_ENCRYPTION',
          protectionLevel: body.versionTemplate?.protectionLevel ?? 'SOFTWARE',
        },
        createTime: now(),
        nextVersion: 1,
      };
      keys.set(name, key);
      if (!request.skipInitialVersionCreation) newVersion(key);
      return key;
    },
    getCryptoKey(request) {
      const key = keys.get(String(request.name));
      if (!key) throw failure(grpc.status.NOT_FOUND, `CryptoKey ${String(request.name)} not found.`);
      return key;
    },
    createCryptoKeyVersion(request) {
      const key = keys.get(String(request.parent));
      if (!key) throw failure(grpc.status.NOT_FOUND, `CryptoKey ${String(request.parent)} not found.`);
      return view(newVersion(key));
    },
    getCryptoKeyVersion: (request) => view(version(String(request.name))),
    getPublicKey(request) {
      const found = version(String(request.name));
      view(found);
      if (found.state !== 'ENABLED') {
        throw failure(
          grpc.status.FAILED_PRECONDITION,
          `CryptoKeyVersion ${found.name} is not enabled, current state is: ${found.state}.`,
        );
      }
      const pemCrc = crc32c(Buffer.from(found.publicPem)) + (corruptions[0] === 'pem-crc32c' ? 1 : 0);
      if (corruptions[0] === 'pem-crc32c') corruptions.shift();
      return {
        pem: found.publicPem,
        algorithm: found.algorithm,
        pemCrc32c: { value: String(pemCrc) },
        name: found.name,
        protectionLevel: found.protectionLevel,
      };
    },
    asymmetricSign(request) {
      const found = version(String(request.name));
      view(found);
      if (found.state !== 'ENABLED') {
        throw failure(
          grpc.status.FAILED_PRECONDITION,
          `CryptoKeyVersion ${found.name} is not enabled, current state is: ${found.state}.`,
        );
      }
      const digest = Buffer.from(((request.digest ?? {}) as { sha256?: Buffer }).sha256 ?? []);
      const sentCrc = (request.digestCrc32c as { value?: string } | undefined)?.value;
      if (sentCrc !== undefined && Number(sentCrc) !== crc32c(digest)) {
        throw failure(
          grpc.status.INVALID_ARGUMENT,
          'The checksum in field digest_crc32c did not match the data in field digest.',
        );
      }
      const signature = signP256Digest(found.privatePem, digest);
      const corruption = corruptions.shift();
      return {
        signature,
        signatureCrc32c: { value: String(crc32c(signature) + (corruption === 'signature-crc32c' ? 1 : 0)) },
        verifiedDigestCrc32c: sentCrc !== undefined && corruption !== 'digest-unverified',
        name: corruption === 'signature-name' ? `${found.name}0` : found.name,
        protectionLevel: found.protectionLevel,
      };
    },
    destroyCryptoKeyVersion(request) {
      const found = version(String(request.name));
      if (found.state === 'DESTROYED' || found.state === 'DESTROY_SCHEDULED') {
        throw failure(
          grpc.status.FAILED_PRECONDITION,
          `The request cannot be fulfilled. Resource ${found.name} has value ${found.state} in field crypto_key_version.state.`,
        );
      }
      found.state = 'DESTROY_SCHEDULED';
      return { ...view(found), destroyTime: { seconds: Math.floor(Date.now() / 1000) + 24 * 3600 } };
    },
    listCryptoKeyVersions(request) {
      const parent = String(request.parent);
      if (!keys.has(parent)) throw failure(grpc.status.NOT_FOUND, `CryptoKey ${parent} not found.`);
      const all = [...versions.values()].filter((v) => v.name.startsWith(`${parent}/cryptoKeyVersions/`));
      const size = Number(request.pageSize) || options.pageSize || 1000;
      const offset = request.pageToken ? Number(request.pageToken) : 0;
      const page = all.slice(offset, offset + size).map(view);
      const next = offset + size < all.length ? String(offset + size) : '';
      return { cryptoKeyVersions: page, nextPageToken: next, totalSize: all.length };
    },
  };

  const server = new grpc.Server();
  server.addService(service, recordingUnaryService(handlers, calls, failures));
  const port = await listenOnLoopback(server);
  return {
    port,
    calls,
    keys,
    versions,
    keyRings,
    failNext(count, code, message = 'injected failure', method) {
      failures.push({ count, code, message, method });
    },
    setPendingReads(reads) {
      pendingReads = reads;
    },
    corruptNext(corruption) {
      corruptions.push(corruption);
    },
    clientOptions: () => loopbackClientOptions(`127.0.0.1:${port}`, 'enx-local'),
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
