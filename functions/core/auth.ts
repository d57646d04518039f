/**
 * Who may run a job. Cloud Scheduler calls with an OIDC ID token minted for the job's invoker
 * service account, for the function's URL as audience.
 *
 * Two places can check the token's signature, and the runtime must know which one does:
 *
 * - `edge: 'cloud-run'`. Cloud Run's IAM front verifies the signature, the audience and that the
 *   caller holds run.invoker, and only then forwards the request, with the token's signature
 *   replaced by the literal `SIGNATURE_REMOVED_BY_GOOGLE` (Cloud Run troubleshooting, section
 *   "signature-removed", https://cloud.google.com/run/docs/troubleshooting#signature-removed, and
 *   the service-to-service authentication page; checked 2026-12-06). The container cannot verify
 *   that token again, so the runtime accepts a stripped signature here and still checks every claim:
 *   issuer, audience, expiry, issue time, verified email, and the invoker list (defence in depth
 *   against a mis-set IAM binding). A token that still carries a signature is verified in full.
 * - `edge: 'none'`. Nothing in front: the runtime verifies everything, signature included, and a
 *   stripped token is refused, since anyone could write one.
 *
 * Locally, local/cloud-run-edge.ts plays Cloud Run's part in front of every function, so `npm start`
 * takes the production path.
 *
 * jose is loaded on the first signed token only: behind Cloud Run no token is signed any more, and
 * its 40 kB were a tenth of what a cold start reads before the first answer.
 */
import type * as JoseModule from 'jose';
import type { JWTPayload } from 'jose';
import type { Clock } from './clock';
import { AuthError } from './errors';

export interface Caller {
  readonly email: string;
}

export interface InvocationVerifier {
  verify(authorization: string | undefined): Promise<Caller>;
}

/** What Cloud Run writes in place of the signature of a token it has verified. */
export const SIGNATURE_REMOVED = 'SIGNATURE_REMOVED_BY_GOOGLE';

/** Who verifies the token's signature: Cloud Run's IAM front (or its local stand-in), or nobody. */
export type AuthEdge = 'cloud-run' | 'none';

export interface OidcSettings {
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly audience: string;
  readonly invokerEmails: readonly string[];
  /** Allowed skew between this machine's clock and the issuer's. */
  readonly clockToleranceSeconds: number;
  readonly edge: AuthEdge;
}

const BEARER = /^Bearer\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i;

type Jose = typeof JoseModule;

export function createOidcVerifier(settings: OidcSettings, clock: Clock): InvocationVerifier {
  let loaded: Promise<{ jose: Jose; keys: ReturnType<Jose['createRemoteJWKSet']> }> | undefined;
  const jose = () =>
    (loaded ??= import('jose').then((jose) => ({
      jose,
      keys: jose.createRemoteJWKSet(new URL(settings.jwksUrl), {
        cooldownDuration: 30_000,
        timeoutDuration: 5_000,
      }),
    })));
  const allowed = new Set(settings.invokerEmails.map((email) => email.toLowerCase()));

  const verifySigned = async (token: string): Promise<JWTPayload> => {
    const { jose: lib, keys } = await jose();
    try {
      const { payload } = await lib.jwtVerify(token, keys, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: ['RS256', 'ES256'],
        clockTolerance: settings.clockToleranceSeconds,
        currentDate: clock.now(),
      });
      return payload;
    } catch (error) {
      throw new AuthError(explainJoseError(lib.errors, error, settings));
    }
  };

  return {
    async verify(authorization) {
      const token = bearerToken(authorization);
      const payload = token.endsWith(`.${SIGNATURE_REMOVED}`)
        ? strippedClaims(token, settings, clock.now())
        : await verifySigned(token);
      return allowedCaller(payload, allowed);
    },
  };
}

function bearerToken(authorization: string | undefined): string {
  const match = BEARER.exec(authorization?.trim() ?? '');
  if (!match) {
    throw new AuthError('missing bearer token: the caller must send "Authorization: Bearer <OIDC ID token>"');
  }
  return match[1];
}

/**
 * The claims of a token whose signature Cloud Run verified and removed. Only trusted when this
 * instance sits behind such an edge; the claims are checked as jwtVerify would check them.
 */
function strippedClaims(token: string, settings: OidcSettings, now: Date): JWTPayload {
  if (settings.edge !== 'cloud-run') {
    throw new AuthError(
      'token signature was removed (SIGNATURE_REMOVED_BY_GOOGLE), which only Cloud Run does after verifying it; ' +
        'this instance is not behind Cloud Run (AUTH_EDGE resolves to none), so it needs a signed token',
    );
  }
  const payload = decodeClaims(token);
  checkClaims(payload, settings, now);
  return payload;
}

/** The claims of a JWS compact token (BEARER has checked its three base64url parts). */
function decodeClaims(token: string): JWTPayload {
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
  } catch (error) {
    throw new AuthError(`token could not be read: its claims are not JSON (${(error as Error).message})`);
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new AuthError('token could not be read: its claims are not a JSON object');
  }
  return claims as JWTPayload;
}

function checkClaims(payload: JWTPayload, settings: OidcSettings, now: Date): void {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const tolerance = settings.clockToleranceSeconds;
  if (payload.iss !== settings.issuer) throw new AuthError(`token issuer is not ${settings.issuer}`);
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!audiences.includes(settings.audience)) {
    throw new AuthError(`token audience is not ${settings.audience}`);
  }
  if (typeof payload.exp !== 'number') throw new AuthError('token has no expiry (exp claim)');
  if (payload.exp <= nowSeconds - tolerance) throw new AuthError('token expired');
  if (typeof payload.iat === 'number' && payload.iat > nowSeconds + tolerance) {
    throw new AuthError('token claim iat is invalid: issued in the future');
  }
  if (typeof payload.nbf === 'number' && payload.nbf > nowSeconds + tolerance) {
    throw new AuthError('token claim nbf is invalid: not valid yet');
  }
}

function allowedCaller(payload: JWTPayload, allowed: ReadonlySet<string>): Caller {
  const email = typeof payload.email === 'string' ? payload.email.toLowerCase() : '';
  if (!email || payload.email_verified === false) {
    throw new AuthError('token has no verified email claim; mint it for a service account', 403);
  }
  if (!allowed.has(email)) {
    throw new AuthError(`caller ${email} is not an allowed invoker (OIDC_INVOKER_EMAILS)`, 403);
  }
  return { email };
}

function explainJoseError(joseErrors: Jose['errors'], error: unknown, settings: OidcSettings): string {
  if (error instanceof joseErrors.JWTExpired) return 'token expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return `token audience is not ${settings.audience}`;
    if (error.claim === 'iss') return `token issuer is not ${settings.issuer}`;
    return `token claim ${error.claim} is invalid: ${error.reason}`;
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'token was not signed by a key of the issuer';
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JOSEError) {
    return `token could not be verified: ${(error as Error).message}`;
  }
  return `token could not be verified: ${(error as Error)?.message ?? String(error)}`;
}

/** Verification switched off (AUTH_MODE=none). Every caller is "anonymous". */
export const noVerification: InvocationVerifier = {
  verify: async () => ({ email: 'anonymous (AUTH_MODE=none)' }),
};
