/**
 * rotation-worker settings: the original rotation service's variables, names and defaults
 * (enx-jobs.md §7, §7.1, §7.3). MIN_TTL is not read: the run ledger and job lock replace the
 * original's time-to-live lock. All durations must be positive, as in the original.
 */
import { custom, defineConfig, durationMs } from '../../core/config';
import { parseCryptoKeyName } from '../../adapters/kms-names';
import { formatDurationMs } from '../../core/duration';
import type { SecretTypeName } from './secret-types';

const PARENT = /^projects\/[^/]+\/secrets$/;

/** SECRETS_PARENT: where the secrets' versions are added, `projects/<project>/secrets`. */
export function parseSecretsParent(raw: string): string {
  const parent = raw.trim().replace(/\/+$/, '');
  if (!PARENT.test(parent)) {
    throw new Error(`"${raw}" is not a secrets parent; write it as projects/<project>/secrets`);
  }
  return parent;
}

const positive = { minMs: 1 };

export const rotationConfig = defineConfig(
  'rotation-worker',
  {
    tokenSigningKey: custom(
      'TOKEN_SIGNING_KEY',
      undefined,
      'The KMS crypto key whose versions sign tokens (projects/P/locations/L/keyRings/R/cryptoKeys/K, not a version); rotation adds versions to it.',
      parseCryptoKeyName,
    ),
    tokenSigningKeyMaxAgeMs: durationMs(
      'TOKEN_SIGNING_KEY_MAX_AGE',
      '720h',
      'Rotate the token-signing key once the active key is this old.',
      positive,
    ),
    secretsParent: custom(
      'SECRETS_PARENT',
      undefined,
      'Secret Manager parent of the system secrets, projects/<project>/secrets.',
      parseSecretsParent,
    ),
    secretActivationTtlMs: durationMs(
      'SECRET_ACTIVATION_TTL',
      '30m',
      'A new secret becomes primary this long after it is created; a retired one stays accepted this long before it is marked for deletion.',
      positive,
    ),
    secretDestroyTtlMs: durationMs(
      'SECRET_DESTROY_TTL',
      '24h',
      'A secret marked for deletion has its version destroyed and its row purged this long later.',
      positive,
    ),
    apiKeyDatabaseHmacMinAgeMs: durationMs(
      'API_KEY_DATABASE_HMAC_KEY_MIN_AGE',
      '4320h',
      'Add an API-key database HMAC key when the newest is this old (never retired by age).',
      positive,
    ),
    apiKeySignatureHmacMinAgeMs: durationMs(
      'API_KEY_SIGNATURE_HMAC_KEY_MIN_AGE',
      '4320h',
      'Add an API-key signature HMAC key when the newest is this old (never retired by age).',
      positive,
    ),
    cookieKeyMinAgeMs: durationMs(
      'COOKIE_KEY_MIN_AGE',
      '720h',
      'Add a cookie key when the newest is this old.',
      positive,
    ),
    cookieKeyMaxAgeMs: durationMs(
      'COOKIE_KEY_MAX_AGE',
      '1488h',
      'Retire a cookie key this old (once a newer one is active).',
      positive,
    ),
    phoneNumberHmacMinAgeMs: durationMs(
      'PHONE_NUMBER_DATABASE_HMAC_MIN_AGE',
      '720h',
      'Add a phone-number HMAC key when the newest is this old.',
      positive,
    ),
    phoneNumberHmacMaxAgeMs: durationMs(
      'PHONE_NUMBER_DATABASE_HMAC_MAX_AGE',
      '2928h',
      'Retire a phone-number HMAC key this old (once a newer one is active).',
      positive,
    ),
    verificationCodeHmacMinAgeMs: durationMs(
      'VERIFICATION_CODE_DATABASE_HMAC_KEY_MIN_AGE',
      '24h',
      'Add a verification-code HMAC key when the newest is this old.',
      positive,
    ),
    verificationCodeHmacMaxAgeMs: durationMs(
      'VERIFICATION_CODE_DATABASE_HMAC_KEY_MAX_AGE',
      '72h',
      'Retire a verification-code HMAC key this old (once a newer one is active).',
      positive,
    ),
  },
  (config) => {
    // A successor is created at the min age and becomes primary SECRET_ACTIVATION_TTL later; a max
    // age shorter than that would retire keys with no active successor to take over.
    const problems: string[] = [];
    const pairs: [string, number, string, number][] = [
      ['COOKIE_KEY_MIN_AGE', config.cookieKeyMinAgeMs, 'COOKIE_KEY_MAX_AGE', config.cookieKeyMaxAgeMs],
      [
        'PHONE_NUMBER_DATABASE_HMAC_MIN_AGE',
        config.phoneNumberHmacMinAgeMs,
        'PHONE_NUMBER_DATABASE_HMAC_MAX_AGE',
        config.phoneNumberHmacMaxAgeMs,
      ],
      [
        'VERIFICATION_CODE_DATABASE_HMAC_KEY_MIN_AGE',
        config.verificationCodeHmacMinAgeMs,
        'VERIFICATION_CODE_DATABASE_HMAC_KEY_MAX_AGE',
        config.verificationCodeHmacMaxAgeMs,
      ],
    ];
    for (const [minEnv, minMs, maxEnv, maxMs] of pairs) {
      if (maxMs < minMs + config.secretActivationTtlMs) {
        problems.push(
          `${maxEnv} (${formatDurationMs(maxMs)}) must be at least ${minEnv} (${formatDurationMs(minMs)}) plus SECRET_ACTIVATION_TTL (${formatDurationMs(config.secretActivationTtlMs)}), so a successor is active before a key is retired`,
        );
      }
    }
    return problems;
  },
);

export type RotationConfig = ReturnType<typeof rotationConfig.parse>;

export interface SecretAges {
  /** Create a new version when the newest is older than this. */
  readonly minAgeMs: number;
  /** Retire an active version this old; undefined = never by age. */
  readonly maxAgeMs?: number;
}

export function secretAges(config: RotationConfig): Record<SecretTypeName, SecretAges> {
  return {
    api_key_database_hmac: { minAgeMs: config.apiKeyDatabaseHmacMinAgeMs },
    api_key_signature_hmac: { minAgeMs: config.apiKeySignatureHmacMinAgeMs },
    cookie_keys: { minAgeMs: config.cookieKeyMinAgeMs, maxAgeMs: config.cookieKeyMaxAgeMs },
    phone_number_database_hmac: {
      minAgeMs: config.phoneNumberHmacMinAgeMs,
      maxAgeMs: config.phoneNumberHmacMaxAgeMs,
    },
    verification_code_database_hmac: {
      minAgeMs: config.verificationCodeHmacMinAgeMs,
      maxAgeMs: config.verificationCodeHmacMaxAgeMs,
    },
  };
}
