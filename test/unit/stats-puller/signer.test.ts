/**
 * The stats token's signature path: KMS answers DER ECDSA signatures, JOSE wants r||s of exactly
 * 32 bytes each. The conversion is checked on hand-built DER (short, 33-byte and long-form
 * encodings), on many real signatures, and end to end by verifying the JWT with jose.
 */
import { createHash, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import type { KeyManager } from '../../../functions/ports';
import { signP256Digest } from '../../../functions/adapters/p256-prehashed';
import { derToJose, signStatsToken } from '../../../functions/jobs/stats-puller-worker/signer';

function derInteger(bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
}

function derSignature(r: Buffer, s: Buffer): Buffer {
  const body = Buffer.concat([derInteger(r), derInteger(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/** An in-memory key manager with one P-256 version that signs digests as KMS does. */
function memoryKeyManager(): KeyManager & { version: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const version = 'projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1';
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const unused = () => Promise.reject(new Error('not used here'));
  return {
    version,
    createSigningKey: unused,
    createKeyVersion: unused,
    destroyKeyVersion: unused,
    listKeyVersions: unused,
    getPublicKeyPem: async () => publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    signDigest: async (name, digest) => {
      expect(name).toBe(version);
      return signP256Digest(privatePem, digest);
    },
  };
}

describe('derToJose', () => {
  it('copies 32-byte integers as they are', () => {
    const r = Buffer.alloc(32, 0x11);
    const s = Buffer.alloc(32, 0x22);
    expect(derToJose(derSignature(r, s))).toEqual(Buffer.concat([r, s]));
  });

  it('drops the 0x00 DER puts before a 33-byte integer whose top bit is set', () => {
    const r = Buffer.alloc(32, 0xff);
    const s = Buffer.alloc(32, 0x80);
    const der = derSignature(Buffer.concat([Buffer.from([0]), r]), Buffer.concat([Buffer.from([0]), s]));
    expect(der[3]).toBe(33);
    expect(derToJose(der)).toEqual(Buffer.concat([r, s]));
  });

  it('left-pads integers DER shortened by their leading zeros', () => {
    const r = Buffer.concat([Buffer.alloc(1), Buffer.alloc(31, 0x33)]);
    const s = Buffer.concat([Buffer.alloc(3), Buffer.alloc(29, 0x44)]);
    const der = derSignature(r.subarray(1), s.subarray(3));
    const jose = derToJose(der);
    expect(jose).toHaveLength(64);
    expect(jose).toEqual(Buffer.concat([r, s]));
  });

  it('reads a long-form SEQUENCE length', () => {
    const r = Buffer.alloc(32, 0x01);
    const s = Buffer.alloc(32, 0x02);
    const body = Buffer.concat([derInteger(r), derInteger(s)]);
    const der = Buffer.concat([Buffer.from([0x30, 0x81, body.length]), body]);
    expect(derToJose(der)).toEqual(Buffer.concat([r, s]));
  });

  it('refuses malformed signatures', () => {
    const good = derSignature(Buffer.alloc(32, 1), Buffer.alloc(32, 2));
    expect(() => derToJose(Buffer.from([0x31, ...good.subarray(1)]))).toThrow(/SEQUENCE/);
    expect(() => derToJose(good.subarray(0, good.length - 1))).toThrow(/DER signature/);
    expect(() => derToJose(Buffer.concat([good, Buffer.from([0])]))).toThrow(/length|trailing/);
    expect(() => derToJose(derSignature(Buffer.alloc(34, 1), Buffer.alloc(32, 2)))).toThrow(/longer than 32/);
  });

  it('converts real signatures so they verify in IEEE P1363 form', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    let padded = 0;
    for (let index = 0; index < 300; index += 1) {
      const message = Buffer.from(`message ${index}`);
      const der = sign('sha256', message, { key: privateKey, dsaEncoding: 'der' });
      if (der[3] === 33) padded += 1;
      const jose = derToJose(der);
      expect(jose).toHaveLength(64);
      expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, jose)).toBe(true);
    }
    // Half the r values have their top bit set; the loop must have met that case.
    expect(padded).toBeGreaterThan(0);
  });
});

describe('signP256Digest (the local key manager signs the digest as KMS does)', () => {
  it('signs the digest itself, so the signature verifies as ES256 over the message', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    for (let index = 0; index < 20; index += 1) {
      const message = Buffer.from(`payload ${index}`);
      const der = signP256Digest(pem, createHash('sha256').update(message).digest());
      expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'der' }, der)).toBe(true);
    }
  });

  it('refuses a digest that is not 32 bytes', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => signP256Digest(pem, Buffer.alloc(20))).toThrow(/32 bytes/);
  });
});

describe('signStatsToken', () => {
  const NOW = new Date('2026-11-23T12:00:00Z');

  it('makes an ES256 JWT that jose verifies with the public key from the key manager', async () => {
    const keys = memoryKeyManager();
    const identity = { keyVersion: keys.version, kid: 'r7v3', issuer: 'realm-seven' };
    const token = await signStatsToken(keys, identity, 'keyserver', NOW);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: 'r7v3', typ: 'JWT' });
    const key = await importSPKI(await keys.getPublicKeyPem(keys.version), 'ES256');
    const { payload } = await jwtVerify(token, key, {
      audience: 'keyserver',
      issuer: 'realm-seven',
      currentDate: new Date(NOW.getTime() + 60_000),
    });
    const iat = NOW.getTime() / 1000;
    expect(payload).toEqual({ aud: 'keyserver', iss: 'realm-seven', iat, exp: iat + 300 });
  });

  it('is refused by a different key and after five minutes', async () => {
    const keys = memoryKeyManager();
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const token = await signStatsToken(keys, { keyVersion: keys.version, kid: 'v1', issuer: 'i' }, 'a', NOW);
    const otherKey = createPublicKey(other.export({ type: 'spki', format: 'pem' }));
    await expect(jwtVerify(token, otherKey, { currentDate: NOW })).rejects.toThrow(/signature/);
    const key = await importSPKI(await keys.getPublicKeyPem(keys.version), 'ES256');
    await expect(
      jwtVerify(token, key, { currentDate: new Date(NOW.getTime() + 301_000), clockTolerance: 0 }),
    ).rejects.toThrow(/exp/);
  });
});
