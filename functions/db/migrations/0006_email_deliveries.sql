-- The emailers' delivery ledger: one row per (job, tick, realm) whose condition held, written before
-- the SMTP session and updated after it. It is what makes a tick's mail exactly-once across retries
-- and duplicate deliveries of the tick: a retry resends only to the recipients no earlier attempt
-- reached, and never re-renders a realm's mail.

CREATE TABLE IF NOT EXISTS enx_jobs_email_deliveries (
  job_id text NOT NULL,
  tick_id text NOT NULL,
  realm_id integer NOT NULL,
  -- sending: an attempt holds the row and may be talking to the relay right now (until lease_until);
  -- sent: every recipient accepted the message; incomplete: some recipients are still to be reached.
  state text NOT NULL CHECK (state IN ('sending', 'sent', 'incomplete')),
  -- The attempt that last claimed the row.
  attempt integer NOT NULL,
  lease_until timestamptz,
  -- The message as first rendered; every retry sends exactly this, with the same Message-ID.
  message_id text NOT NULL,
  subject text NOT NULL,
  html text NOT NULL,
  header_to text[] NOT NULL,
  header_cc text[] NOT NULL,
  -- Envelope recipients (To + Cc + Bcc), and those the relay has accepted so far.
  recipients text[] NOT NULL,
  accepted text[] NOT NULL DEFAULT '{}',
  -- From the latest try: [{address, reason}] the relay refused, and the transport error if any.
  rejected jsonb NOT NULL DEFAULT '[]',
  -- Contact addresses that are not mail addresses; never sent to, reported on every attempt.
  invalid text[] NOT NULL DEFAULT '{}',
  error text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  sent_at timestamptz,
  PRIMARY KEY (job_id, tick_id, realm_id)
);
CREATE INDEX IF NOT EXISTS idx_enx_jobs_email_deliveries_created ON enx_jobs_email_deliveries (created_at);
