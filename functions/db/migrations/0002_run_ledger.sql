-- The run ledger: the runtime's own tables, kept apart from the ENX ones by their enx_jobs_ prefix.
--
-- A tick is one scheduled run of a job (job id + X-CloudScheduler-ScheduleTime); retries of a tick
-- share it. An attempt is one HTTP invocation. The tick row carries the tick's state so "has this
-- tick already succeeded?" is one indexed read, and the attempt rows carry the history.

CREATE TABLE IF NOT EXISTS enx_jobs_ticks (
  job_id text NOT NULL,
  tick_id text NOT NULL,
  -- When the tick was scheduled to run (the header's time); for manual runs, when it was asked for.
  scheduled_at timestamptz NOT NULL,
  manual boolean NOT NULL DEFAULT false,
  -- running | succeeded | failed | exhausted | skipped
  state text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  first_started_at timestamptz NOT NULL,
  last_finished_at timestamptz,
  succeeded_at timestamptz,
  last_error text,
  result jsonb,
  PRIMARY KEY (job_id, tick_id)
);
CREATE INDEX IF NOT EXISTS idx_enx_jobs_ticks_job_scheduled ON enx_jobs_ticks (job_id, scheduled_at DESC);

CREATE TABLE IF NOT EXISTS enx_jobs_attempts (
  id bigserial PRIMARY KEY,
  job_id text NOT NULL,
  tick_id text NOT NULL,
  -- 1 for the first try of a tick, 2 for its first retry, ...; 0 for answers that ran nothing
  -- (duplicates and skips), which never count as tries.
  attempt integer NOT NULL,
  -- running | succeeded | failed | abandoned | skipped | duplicate
  state text NOT NULL,
  started_at timestamptz NOT NULL,
  finished_at timestamptz,
  duration_ms integer,
  error text,
  result jsonb,
  exhausted boolean NOT NULL DEFAULT false,
  execution_id text,
  trace text,
  -- pg_backend_pid() of the connection holding the job lock while this attempt runs.
  holder_pid integer,
  -- When the attempt must be over; past it, a still-"running" row is abandoned.
  deadline_at timestamptz
);
CREATE INDEX IF NOT EXISTS idx_enx_jobs_attempts_job_started ON enx_jobs_attempts (job_id, started_at DESC);
CREATE INDEX IF NOT EXISTS idx_enx_jobs_attempts_tick ON enx_jobs_attempts (job_id, tick_id);
CREATE INDEX IF NOT EXISTS idx_enx_jobs_attempts_running ON enx_jobs_attempts (job_id) WHERE state = 'running';
