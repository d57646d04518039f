-- Counters behind the CUMULATIVE metrics: kept in the database so that any instance of a job
-- writes the true running total into the one series of that job, and a write lost to Cloud
-- Monitoring's rate limit is made good by the next write. started_at is the series' start time and
-- never changes, as CUMULATIVE series require.

CREATE TABLE IF NOT EXISTS enx_jobs_counters (
  job_id text NOT NULL,
  -- started | succeeded | failed | skipped | exhausted
  name text NOT NULL,
  value bigint NOT NULL DEFAULT 0,
  started_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (job_id, name)
);
