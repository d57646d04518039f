-- Constraints the rotation jobs rely on (docs/decisions.md, "Key and secret rotation"). ENX never
-- wrote duplicates, so these hold on an ENX database; they turn a lost race into a refused write
-- instead of a key recorded twice.

-- A key version is recorded once: a run that finds a version the database never recorded adopts it,
-- and a late insert of the same version by a run cut off earlier is then refused rather than
-- creating a second row (which cleanup-worker would later destroy under the other one).
CREATE UNIQUE INDEX IF NOT EXISTS uix_token_signing_keys_key_version_id ON token_signing_keys (key_version_id);
CREATE UNIQUE INDEX IF NOT EXISTS uix_signing_keys_key_id ON signing_keys (key_id);

-- At most one active certificate key per realm, enforced by the database as ENX did for token keys
-- (uix_token_signing_keys_is_active). Activation deactivates the others first, in one transaction.
CREATE UNIQUE INDEX IF NOT EXISTS uix_signing_keys_one_active_per_realm
  ON signing_keys (realm_id) WHERE active AND deleted_at IS NULL;
