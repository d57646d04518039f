/**
 * Who may run a job. Cloud Scheduler calls with an OIDC ID token minted for the invoker service
 * account. Cloud Run IAM already checks it; we check again (defence in depth): signature against the
 * issuer's published keys, issuer, audience (the function's URL), expiry, and that the caller is one
 * of the invoker accounts. Locally a loopback issuer signs the same kind of token and the same code
 * verifies it.
 *
 * AUTH_MODE=none turns verification off for local experiments only: it is logged loudly on every
 * instance start, and the runtime refuses to start with it on Cloud Run (K_SERVICE set).
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import type { Clock } from './clock';
import { AuthError } from './errors';

export interface Caller {
  readonly email: string;
}

export interface InvocationVerifier {
  verify(authorization: string | undefined): Promise<Caller>;
}

export interface OidcSettings {
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly audience: string;
  readonly invokerEmails: readonly string[];
  /** Allowed skew between this machine's clock and the issuer's. */
  readonly clockToleranceSeconds: number;
}

export function createOidcVerifier(settings: OidcSettings, clock: Clock): InvocationVerifier {
  const keys = createRemoteJWKSet(new URL(settings.jwksUrl), {
    cooldownDuration: 30_000,
    timeoutDuration: 5_000,
  });
  const allowed = new Set(settings.invokerEmails.map((email) => email.toLowerCase()));

  return {
    async verify(authorization) {
      const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
      if (!match) {
        throw new AuthError(
          'missing bearer token: the caller must send "Authorization: Bearer <OIDC ID token>"',
        );
      }
      let payload;
      try {
        ({ payload } = await jwtVerify(match[1], keys, {
          issuer: settings.issuer,
          audience: settings.audience,
          algorithms: ['RS256', 'ES256'],
          clockTolerance: settings.clockToleranceSeconds,
          currentDate: clock.now(),
        }));
      } catch (error) {
        throw new AuthError(explainJoseError(error, settings));
      }
      const email = typeof payload.email === 'string' ? payload.email.toLowerCase() : '';
      if (!email || payload.email_verified === false) {
        throw new AuthError('token has no verified email claim; mint it for a service account', 403);
      }
      if (!allowed.has(email)) {
        throw new AuthError(`caller ${email} is not an allowed invoker (OIDC_INVOKER_EMAILS)`, 403);
      }
      return { email };
    },
  };
}

function explainJoseError(error: unknown, settings: OidcSettings): string {
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
