-- Since when each job of the catalog is expected to run: first recorded by the watchdog (or the
-- local evaluator) when it sees the job, and never moved. A job that never succeeds is judged late
-- from this time, so a job that was never deployed is not mistaken for a healthy one.

CREATE TABLE IF NOT EXISTS enx_jobs_expected (
  job_id text PRIMARY KEY,
  since timestamptz NOT NULL
);

CREATE INDEX IF NOT EXISTS idx_enx_jobs_attempts_finished ON enx_jobs_attempts (finished_at);
CREATE INDEX IF NOT EXISTS idx_enx_jobs_attempts_job_state_finished ON enx_jobs_attempts (job_id, state, finished_at);
