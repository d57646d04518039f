-- Storage for the local stand-ins of Google services: local only (local/migrate.ts), never created in
-- a production database.

CREATE TABLE IF NOT EXISTS enx_jobs_local_kms_keys (
  name text PRIMARY KEY,
  next_version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS enx_jobs_local_kms_versions (
  name text PRIMARY KEY,
  key_name text NOT NULL REFERENCES enx_jobs_local_kms_keys (name),
  -- ENABLED | DESTROY_SCHEDULED | DESTROYED
  state text NOT NULL,
  private_pem text NOT NULL,
  public_pem text NOT NULL,
  created_at timestamptz NOT NULL,
  destroyed_at timestamptz
);
CREATE INDEX IF NOT EXISTS idx_enx_jobs_local_kms_versions_key ON enx_jobs_local_kms_versions (key_name);
