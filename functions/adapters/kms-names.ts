/**
 * Cloud KMS resource names as settings carry them, checked when a setting is read so a bad name is
 * listed with every other bad variable, with the form it should have.
 */
const CRYPTO_KEY = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;
const KEY_VERSION =
  /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+\/cryptoKeyVersions\/[^/]+$/;

/**
 * A crypto key (not a version). The original refused key versions and commas (a list of keys);
 * this also wants the whole resource name, as the key manager needs it to tell its own versions
 * from others.
 */
export function parseCryptoKeyName(raw: string): string {
  const name = raw.trim();
  if (name === '')
    throw new Error('is empty; set it to the crypto key, projects/P/locations/L/keyRings/R/cryptoKeys/K');
  if (name.includes(',')) throw new Error(`"${name}" contains a comma; name exactly one crypto key`);
  if (name.includes('/cryptoKeyVersions')) {
    throw new Error(`"${name}" names a key version; drop /cryptoKeyVersions/... and name the crypto key`);
  }
  if (!CRYPTO_KEY.test(name)) {
    throw new Error(`"${name}" is not a crypto key name: projects/P/locations/L/keyRings/R/cryptoKeys/K`);
  }
  return name;
}

/** A key *version*, as a signer names the exact version it signs with. */
export function parseKeyVersionName(raw: string): string {
  const name = raw.trim();
  if (!KEY_VERSION.test(name)) {
    throw new Error(
      `"${name}" is not a key version name: projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N`,
    );
  }
  return name;
}
