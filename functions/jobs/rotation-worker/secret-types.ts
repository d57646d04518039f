/**
 * The five system secrets ENX rotates (enx-jobs.md §7.3), in the order it rotates them. Each
 * type's `secrets.type` value and upstream secret id are ENX's, so an existing deployment's rows and
 * Secret Manager secrets carry on. Ages come from the configuration (config.ts).
 */
export interface SecretType {
  /** `secrets.type`. */
  readonly type: string;
  /** The secret's id under SECRETS_PARENT. */
  readonly secretId: string;
  /** Random bytes per version; cookie keys are a 32-byte HMAC key followed by a 64-byte AES key. */
  readonly bytes: number;
  /** The env vars of its ages; a type without a max age is never retired by age. */
  readonly minAgeEnv: string;
  readonly maxAgeEnv?: string;
}

export const SECRET_TYPES = [
  {
    type: 'api_key_database_hmac',
    secretId: 'db-apikey-db-hmac',
    bytes: 128,
    minAgeEnv: 'API_KEY_DATABASE_HMAC_KEY_MIN_AGE',
  },
  {
    type: 'api_key_signature_hmac',
    secretId: 'db-apikey-sig-hmac',
    bytes: 128,
    minAgeEnv: 'API_KEY_SIGNATURE_HMAC_KEY_MIN_AGE',
  },
  {
    type: 'cookie_keys',
    secretId: 'cookie-keys',
    bytes: 96,
    minAgeEnv: 'COOKIE_KEY_MIN_AGE',
    maxAgeEnv: 'COOKIE_KEY_MAX_AGE',
  },
  {
    type: 'phone_number_database_hmac',
    secretId: 'db-phone-number-hmac',
    bytes: 128,
    minAgeEnv: 'PHONE_NUMBER_DATABASE_HMAC_MIN_AGE',
    maxAgeEnv: 'PHONE_NUMBER_DATABASE_HMAC_MAX_AGE',
  },
  {
    type: 'verification_code_database_hmac',
    secretId: 'db-verification-code-hmac',
    bytes: 128,
    minAgeEnv: 'VERIFICATION_CODE_DATABASE_HMAC_KEY_MIN_AGE',
    maxAgeEnv: 'VERIFICATION_CODE_DATABASE_HMAC_KEY_MAX_AGE',
  },
] as const satisfies readonly SecretType[];

export type SecretTypeName = (typeof SECRET_TYPES)[number]['type'];
