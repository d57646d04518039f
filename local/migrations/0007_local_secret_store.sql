-- The local secret store (local mode and tests only): Secret Manager's secrets and versions, with the
-- payload kept in the database because there is no Secret Manager locally. Local only
-- (local/migrate.ts), never created in a production database.

CREATE TABLE IF NOT EXISTS enx_jobs_local_secrets (
  -- projects/<project>/secrets/<secretId>
  name text PRIMARY KEY,
  -- Secret Manager numbers versions 1, 2, 3, ... per secret and never reuses a number.
  next_version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS enx_jobs_local_secret_versions (
  -- projects/<project>/secrets/<secretId>/versions/<n>
  name text PRIMARY KEY,
  secret_name text NOT NULL REFERENCES enx_jobs_local_secrets (name),
  -- ENABLED | DISABLED | DESTROYED
  state text NOT NULL CHECK (state IN ('ENABLED', 'DISABLED', 'DESTROYED')),
  -- Emptied when the version is destroyed, as Secret Manager discards a destroyed version's data.
  payload bytea NOT NULL,
  created_at timestamptz NOT NULL,
  destroyed_at timestamptz
);
CREATE INDEX IF NOT EXISTS idx_enx_jobs_local_secret_versions_secret
  ON enx_jobs_local_secret_versions (secret_name);
