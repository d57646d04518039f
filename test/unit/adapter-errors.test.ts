/**
 * The shared translation of Google API failures: each kind of failure reads as what to check, for
 * gRPC errors as the client libraries throw them and for REST statuses.
 */
import { crc32c, int64Value } from '../../functions/adapters/crc32c';
import {
  GoogleApiError,
  GrpcCode,
  callGoogle,
  googleError,
  grpcCode,
  grpcCodeOfHttpStatus,
} from '../../functions/adapters/google-errors';
import type { GoogleCall } from '../../functions/adapters/google-errors';

const CALL: GoogleCall = {
  service: 'Cloud KMS',
  action: 'sign with',
  resource: 'projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1',
  role: 'roles/cloudkms.signer',
  setting: 'CERTIFICATE_SIGNING_KEY',
};
/** An error shaped as google-gax throws it. */
const gaxError = (code: number, name: string, details: string) =>
  Object.assign(new Error(`${code} ${name}: ${details}`), { code, details });

describe('googleError', () => {
  it('PERMISSION_DENIED names the role the service account lacks, on the resource', () => {
    const error = googleError(
      CALL,
      gaxError(7, 'PERMISSION_DENIED', 'Permission cloudkms.cryptoKeyVersions.useToSign denied'),
    );
    expect(error).toBeInstanceOf(GoogleApiError);
    expect(error).toMatchObject({ kind: 'permission-denied', transient: false });
    expect(error.message).toBe(
      `Cloud KMS refused to sign with ${CALL.resource}: the service account lacks roles/cloudkms.signer on ${CALL.resource} ` +
        '(Cloud KMS said: Permission cloudkms.cryptoKeyVersions.useToSign denied)',
    );
  });

  it('NOT_FOUND says the resource does not exist and which setting names it', () => {
    const error = googleError(CALL, gaxError(5, 'NOT_FOUND', 'CryptoKeyVersion not found.'));
    expect(error).toMatchObject({ kind: 'not-found', transient: false });
    expect(error.message).toBe(
      `${CALL.resource} does not exist: check CERTIFICATE_SIGNING_KEY (Cloud KMS said: CryptoKeyVersion not found.)`,
    );
  });

  it('RESOURCE_EXHAUSTED is a quota error that the next attempt retries', () => {
    const error = googleError(CALL, gaxError(8, 'RESOURCE_EXHAUSTED', 'Quota exceeded for quota metric'));
    expect(error).toMatchObject({ kind: 'quota', transient: true });
    expect(error.message).toMatch(
      /^Cloud KMS quota exhausted while trying to sign with .*raise the Cloud KMS quota/,
    );
  });

  it.each([
    [GrpcCode.UNAVAILABLE, 'UNAVAILABLE'],
    [GrpcCode.DEADLINE_EXCEEDED, 'DEADLINE_EXCEEDED'],
  ])('%s (%s) is transient', (code, name) => {
    const error = googleError(CALL, gaxError(code, name, 'later'));
    expect(error).toMatchObject({ kind: 'transient', transient: true });
    expect(error.message).toMatch(
      /could not sign with .* right now \(a transient failure; the next attempt retries\)/,
    );
  });

  it('UNAUTHENTICATED points at the credentials', () => {
    expect(googleError(CALL, gaxError(16, 'UNAUTHENTICATED', 'bad token')).message).toMatch(
      /did not accept our credentials .* check the function's service account/,
    );
  });

  it('gax giving up after retries reports the code it kept getting, not DEADLINE_EXCEEDED', () => {
    const retried = Object.assign(
      new Error(
        'Exceeded maximum number of retries retrying error Error: 8 RESOURCE_EXHAUSTED: slow down before any response was received',
      ),
      { code: 4 },
    );
    expect(grpcCode(retried)).toBe(8);
    expect(googleError(CALL, retried)).toMatchObject({ kind: 'quota' });
  });

  it('passes through errors that are not answers from Google', () => {
    const bug = new TypeError('x is undefined');
    expect(googleError(CALL, bug)).toBe(bug);
  });

  it('callGoogle translates a rejection and passes a result through', async () => {
    await expect(callGoogle(CALL, async () => 42)).resolves.toBe(42);
    await expect(
      callGoogle(CALL, async () => Promise.reject(gaxError(5, 'NOT_FOUND', 'gone'))),
    ).rejects.toThrow(/does not exist: check CERTIFICATE_SIGNING_KEY/);
  });
});

describe('grpcCodeOfHttpStatus', () => {
  it.each([
    [401, GrpcCode.UNAUTHENTICATED],
    [403, GrpcCode.PERMISSION_DENIED],
    [404, GrpcCode.NOT_FOUND],
    [429, GrpcCode.RESOURCE_EXHAUSTED],
    [503, GrpcCode.UNAVAILABLE],
    [504, GrpcCode.DEADLINE_EXCEEDED],
    [500, GrpcCode.INTERNAL],
    [599, GrpcCode.INTERNAL],
    [400, undefined],
  ])('HTTP %s → gRPC %s', (status, code) => expect(grpcCodeOfHttpStatus(status)).toBe(code));
});

describe('crc32c', () => {
  it('matches the published check values of CRC-32C (Castagnoli)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
  });

  it('reads Int64Value wrappers in every form the libraries use', () => {
    expect(int64Value({ value: '3808858755' })).toBe(3808858755);
    expect(int64Value({ value: 7 })).toBe(7);
    expect(int64Value({ value: { toString: () => '9' } })).toBe(9);
    expect(int64Value(null)).toBeUndefined();
    expect(int64Value({})).toBeUndefined();
  });
});
