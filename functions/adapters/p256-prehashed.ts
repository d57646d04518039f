/**
 * ECDSA P-256 over a digest the caller already computed, as Cloud KMS's AsymmetricSign does.
 * Node's crypto.sign always hashes its input again (sign(null, digest) with an EC key signs
 * SHA-256(digest)), so a signature from it would not verify as ES256 over the original message.
 * Only the local key manager uses this; production signs in KMS.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const A = P - 3n;
const GX = 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n;
const GY = 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n;

type Jacobian = readonly [bigint, bigint, bigint];

const mod = (value: bigint, m: bigint) => {
  const result = value % m;
  return result < 0n ? result + m : result;
};

function modPow(base: bigint, exponent: bigint, m: bigint): bigint {
  let result = 1n;
  let b = mod(base, m);
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return result;
}

/** Both moduli are prime, so Fermat gives the inverse. */
const invert = (value: bigint, m: bigint) => modPow(value, m - 2n, m);

function double([x, y, z]: Jacobian): Jacobian {
  if (y === 0n || z === 0n) return [0n, 1n, 0n];
  const yy = mod(y * y, P);
  const s = mod(4n * x * yy, P);
  const zz = mod(z * z, P);
  const m = mod(3n * x * x + A * zz * zz, P);
  const x3 = mod(m * m - 2n * s, P);
  const y3 = mod(m * (s - x3) - 8n * yy * yy, P);
  const z3 = mod(2n * y * z, P);
  return [x3, y3, z3];
}

function add(p: Jacobian, q: Jacobian): Jacobian {
  if (p[2] === 0n) return q;
  if (q[2] === 0n) return p;
  const z1z1 = mod(p[2] * p[2], P);
  const z2z2 = mod(q[2] * q[2], P);
  const u1 = mod(p[0] * z2z2, P);
  const u2 = mod(q[0] * z1z1, P);
  const s1 = mod(p[1] * q[2] * z2z2, P);
  const s2 = mod(q[1] * p[2] * z1z1, P);
  if (u1 === u2) return s1 === s2 ? double(p) : [0n, 1n, 0n];
  const h = mod(u2 - u1, P);
  const r = mod(s2 - s1, P);
  const hh = mod(h * h, P);
  const hhh = mod(h * hh, P);
  const v = mod(u1 * hh, P);
  const x3 = mod(r * r - hhh - 2n * v, P);
  const y3 = mod(r * (v - x3) - s1 * hhh, P);
  const z3 = mod(h * p[2] * q[2], P);
  return [x3, y3, z3];
}

function multiplyG(scalar: bigint): bigint {
  let result: Jacobian = [0n, 1n, 0n];
  let addend: Jacobian = [GX, GY, 1n];
  let k = scalar;
  while (k > 0n) {
    if (k & 1n) result = add(result, addend);
    addend = double(addend);
    k >>= 1n;
  }
  const zInverse = invert(result[2], P);
  return mod(result[0] * zInverse * zInverse, P);
}

const toBigInt = (bytes: Buffer) => BigInt(`0x${bytes.toString('hex') || '0'}`);

/** Minimal DER INTEGER: big-endian, no leading zeros, a 0x00 prefix when the top bit is set. */
function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
}

/** Signs a SHA-256 digest with a P-256 private key (PEM); answers the DER signature KMS returns. */
export function signP256Digest(privatePem: string, digest: Buffer): Buffer {
  if (digest.length !== 32) throw new Error(`a SHA-256 digest is 32 bytes, got ${digest.length}`);
  const jwk = createPrivateKey(privatePem).export({ format: 'jwk' });
  if (jwk.crv !== 'P-256' || !jwk.d) throw new Error('the key is not a P-256 private key');
  const d = toBigInt(Buffer.from(jwk.d, 'base64url'));
  const z = toBigInt(digest);
  for (;;) {
    const k = toBigInt(randomBytes(32));
    if (k === 0n || k >= N) continue;
    const r = mod(multiplyG(k), N);
    if (r === 0n) continue;
    const s = mod(invert(k, N) * (z + r * d), N);
    if (s === 0n) continue;
    const body = Buffer.concat([derInteger(r), derInteger(s)]);
    return Buffer.concat([Buffer.from([0x30, body.length]), body]);
  }
}
