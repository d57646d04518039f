-- The tables of the Exposure Notifications verification server that the jobs read and write, with
-- the server's own table names, column names and types (see /work/shared/reference/enx-jobs.md §9), so
-- the jobs run unchanged against an existing ENX database. Local only: it stands in for ENX's own
-- migrations where there is no ENX database (local/migrate.ts skips it when ENX's tables exist, and
-- npm run migrate never applies it); only columns the jobs touch are declared.
--
-- Differences from the server's schema, all additive: the server enables uuid-ossp for
-- uuid_generate_v4(); gen_random_uuid() (built in since PostgreSQL 13) produces the same kind of
-- value without needing the extension.

CREATE EXTENSION IF NOT EXISTS citext;

CREATE TABLE IF NOT EXISTS realms (
  id serial PRIMARY KEY,
  created_at timestamptz,
  updated_at timestamptz,
  deleted_at timestamptz,
  name citext,
  region_code citext,
  is_e2e boolean NOT NULL DEFAULT false,
  code_duration bigint NOT NULL DEFAULT 900,
  long_code_duration bigint DEFAULT 86400,
  allowed_test_types smallint NOT NULL DEFAULT 14,
  abuse_prevention_enabled boolean NOT NULL DEFAULT false,
  abuse_prevention_limit integer NOT NULL DEFAULT 10,
  abuse_prevention_limit_factor numeric(8, 5) NOT NULL DEFAULT 1.0,
  use_realm_certificate_key boolean DEFAULT false,
  certificate_issuer varchar(150),
  certificate_audience varchar(150),
  certificate_duration bigint DEFAULT 900,
  auto_rotate_certificate_key boolean NOT NULL DEFAULT false,
  agency_background_color text,
  agency_image text,
  default_locale text,
  user_report_learn_more_url text,
  last_codes_claimed_ratio numeric(10, 8) NOT NULL DEFAULT 0,
  codes_claimed_ratio_mean numeric(10, 8) NOT NULL DEFAULT 0,
  codes_claimed_ratio_stddev numeric(10, 8) NOT NULL DEFAULT 0,
  contact_email_addresses text[] NOT NULL DEFAULT '{}',
  use_authenticated_sms boolean DEFAULT false,
  allow_admin_user_report boolean DEFAULT false,
  allow_bulk_upload boolean DEFAULT false
);
CREATE UNIQUE INDEX IF NOT EXISTS uix_realms_name ON realms (name);
CREATE UNIQUE INDEX IF NOT EXISTS uix_realms_region_code ON realms (region_code);
CREATE UNIQUE INDEX IF NOT EXISTS uix_realms_is_e2e ON realms (is_e2e) WHERE is_e2e;
CREATE INDEX IF NOT EXISTS idx_realms_deleted_at ON realms (deleted_at);

CREATE TABLE IF NOT EXISTS users (
  id serial PRIMARY KEY,
  created_at timestamptz,
  updated_at timestamptz,
  deleted_at timestamptz,
  email citext UNIQUE,
  name varchar(100),
  system_admin boolean DEFAULT false,
  last_revoke_check timestamptz,
  last_password_change timestamptz
);

CREATE TABLE IF NOT EXISTS memberships (
  realm_id integer NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
  user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  permissions bigint NOT NULL DEFAULT 0,
  default_sms_template_label text,
  created_at timestamptz,
  updated_at timestamptz,
  PRIMARY KEY (realm_id, user_id)
);

CREATE TABLE IF NOT EXISTS authorized_apps (
  id serial PRIMARY KEY,
  created_at timestamptz,
  updated_at timestamptz,
  deleted_at timestamptz,
  realm_id integer,
  name citext,
  api_key_preview varchar(32),
  api_key varchar(512) UNIQUE,
  api_key_type integer NOT NULL DEFAULT 0,
  last_used_at timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS realm_apikey_name ON authorized_apps (realm_id, name);

CREATE TABLE IF NOT EXISTS mobile_apps (
  id serial PRIMARY KEY,
  created_at timestamptz,
  updated_at timestamptz,
  deleted_at timestamptz,
  name citext,
  realm_id integer,
  url text,
  os integer,
  app_id varchar(512),
  sha text,
  disable_redirect boolean NOT NULL DEFAULT false,
  headless boolean NOT NULL DEFAULT false,
  CONSTRAINT uix_name_realm_id_os UNIQUE (name, realm_id, os)
);

CREATE TABLE IF NOT EXISTS dynamic_translations (
  id bigserial PRIMARY KEY,
  realm_id integer NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
  message_id text NOT NULL,
  locale text NOT NULL,
  message text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS uix_dynamic_translations ON dynamic_translations (realm_id, message_id, locale);

CREATE TABLE IF NOT EXISTS user_reports (
  id bigserial PRIMARY KEY,
  phone_hash text NOT NULL,
  nonce text NOT NULL,
  code_claimed boolean NOT NULL DEFAULT false,
  nonce_required boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS uix_user_report_phone_hash ON user_reports (phone_hash);
CREATE INDEX IF NOT EXISTS idx_user_reports_created_at ON user_reports (created_at);

CREATE TABLE IF NOT EXISTS verification_codes (
  id bigserial PRIMARY KEY,
  created_at timestamptz,
  updated_at timestamptz,
  deleted_at timestamptz,
  realm_id integer NOT NULL,
  code text,
  long_code text,
  uuid uuid,
  claimed boolean DEFAULT false,
  test_type text,
  symptom_date timestamptz,
  test_date timestamptz,
  expires_at timestamptz,
  long_expires_at timestamptz,
  user_report_id integer REFERENCES user_reports (id) ON DELETE SET NULL,
  issuing_user_id integer,
  issuing_app_id integer,
  issuing_external_id text
);
CREATE UNIQUE INDEX IF NOT EXISTS uix_verification_codes_uuid ON verification_codes (uuid);
CREATE INDEX IF NOT EXISTS idx_verification_codes_user_report_id ON verification_codes (user_report_id);

CREATE TABLE IF NOT EXISTS tokens (
  id serial PRIMARY KEY,
  created_at timestamptz,
  updated_at timestamptz,
  deleted_at timestamptz,
  realm_id integer,
  token_id varchar(200) UNIQUE,
  test_type varchar(20),
  symptom_date timestamptz,
  test_date timestamptz,
  used boolean DEFAULT false,
  expires_at timestamptz
);

CREATE TABLE IF NOT EXISTS audit_entries (
  id serial PRIMARY KEY,
  realm_id integer NOT NULL,
  actor_id text NOT NULL,
  actor_display text NOT NULL,
  action text NOT NULL,
  target_id text NOT NULL,
  target_display text NOT NULL,
  diff text,
  created_at timestamptz
);
CREATE INDEX IF NOT EXISTS idx_audit_entries_realm_id ON audit_entries (realm_id);
CREATE INDEX IF NOT EXISTS idx_audit_entries_actor_id ON audit_entries (actor_id);
CREATE INDEX IF NOT EXISTS idx_audit_entries_target_id ON audit_entries (target_id);
CREATE INDEX IF NOT EXISTS idx_audit_entries_created_at ON audit_entries (created_at);

CREATE TABLE IF NOT EXISTS signing_keys (
  id serial PRIMARY KEY,
  created_at timestamptz,
  updated_at timestamptz,
  deleted_at timestamptz,
  realm_id integer,
  key_id text,
  active boolean
);
CREATE INDEX IF NOT EXISTS realm ON signing_keys (realm_id);

CREATE TABLE IF NOT EXISTS token_signing_keys (
  id bigserial PRIMARY KEY,
  key_version_id text NOT NULL,
  is_active boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  uuid uuid NOT NULL UNIQUE DEFAULT gen_random_uuid()
);
CREATE UNIQUE INDEX IF NOT EXISTS uix_token_signing_keys_is_active ON token_signing_keys (is_active) WHERE is_active;

CREATE TABLE IF NOT EXISTS secrets (
  id bigserial PRIMARY KEY,
  type text NOT NULL,
  reference text NOT NULL,
  active boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS uix_secrets_type_reference ON secrets (type, reference);
CREATE INDEX IF NOT EXISTS idx_secrets_active_created_at ON secrets (active, created_at);
CREATE INDEX IF NOT EXISTS idx_secrets_created_at ON secrets (created_at);
CREATE INDEX IF NOT EXISTS idx_secrets_deleted_at ON secrets (deleted_at);

CREATE TABLE IF NOT EXISTS realm_stats (
  date date NOT NULL,
  realm_id integer NOT NULL,
  codes_issued integer NOT NULL DEFAULT 0,
  codes_claimed integer NOT NULL DEFAULT 0,
  codes_invalid integer NOT NULL DEFAULT 0,
  tokens_claimed integer NOT NULL DEFAULT 0,
  tokens_invalid integer NOT NULL DEFAULT 0,
  user_reports_issued integer NOT NULL DEFAULT 0,
  user_reports_claimed integer NOT NULL DEFAULT 0,
  user_report_tokens_claimed integer NOT NULL DEFAULT 0,
  user_reports_invalid_nonce integer NOT NULL DEFAULT 0,
  codes_invalid_by_os bigint[],
  user_reports_invalid_nonce_by_os bigint[],
  code_claim_age_distribution integer[],
  code_claim_mean_age bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_realm_stats_date_realm_id ON realm_stats (date, realm_id);

CREATE TABLE IF NOT EXISTS authorized_app_stats (
  date date NOT NULL,
  authorized_app_id integer NOT NULL,
  codes_issued integer DEFAULT 0,
  codes_claimed integer DEFAULT 0,
  codes_invalid integer DEFAULT 0,
  tokens_claimed integer DEFAULT 0,
  tokens_invalid integer DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_authorized_app_stats_date_authorized_app_id
  ON authorized_app_stats (date, authorized_app_id);

CREATE TABLE IF NOT EXISTS user_stats (
  date date NOT NULL,
  user_id integer,
  realm_id integer NOT NULL,
  codes_issued integer DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_user_stats_date_realm_user ON user_stats (date, realm_id, user_id);

CREATE TABLE IF NOT EXISTS external_issuer_stats (
  date date,
  realm_id integer,
  issuer_id varchar(255),
  codes_issued integer
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_external_issuer_stats_date_issuer_realm
  ON external_issuer_stats (date, issuer_id, realm_id);

CREATE TABLE IF NOT EXISTS sms_error_stats (
  date date,
  realm_id integer REFERENCES realms (id),
  error_code text,
  quantity integer,
  PRIMARY KEY (realm_id, date, error_code)
);
CREATE INDEX IF NOT EXISTS idx_sms_error_stats_realm_id ON sms_error_stats (realm_id);
CREATE INDEX IF NOT EXISTS idx_sms_error_stats_date ON sms_error_stats (date);
CREATE INDEX IF NOT EXISTS idx_sms_error_stats_error_code ON sms_error_stats (error_code);

CREATE TABLE IF NOT EXISTS key_server_stats (
  realm_id integer PRIMARY KEY,
  key_server_url_override text,
  key_server_audience_override text
);

CREATE TABLE IF NOT EXISTS key_server_stats_days (
  realm_id integer,
  day timestamptz,
  publish_requests bigint[],
  total_teks_published bigint NOT NULL DEFAULT 0,
  revision_requests bigint NOT NULL DEFAULT 0,
  tek_age_distribution bigint[],
  onset_to_upload_distribution bigint[],
  request_missing_onset_date bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (realm_id, day)
);

CREATE TABLE IF NOT EXISTS realm_chaff_events (
  realm_id integer NOT NULL REFERENCES realms (id),
  date date NOT NULL,
  PRIMARY KEY (realm_id, date)
);
CREATE INDEX IF NOT EXISTS idx_realm_chaff_events_realm_id ON realm_chaff_events (realm_id);
CREATE INDEX IF NOT EXISTS idx_realm_chaff_events_date ON realm_chaff_events (date);
