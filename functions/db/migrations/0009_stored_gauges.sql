-- The gauge points a function records for Cloud Monitoring (heartbeats, attempt durations, a job's
-- per-step figures), one row per series with its latest value. The functions never call Cloud
-- Monitoring themselves: that client costs a cold start more than the rest of the runtime
-- (docs/decisions.md, "Cold start"). Every minute the fleet-watchdog writes the pending rows with
-- the time they were observed, then marks them written.

CREATE TABLE IF NOT EXISTS enx_jobs_gauges (
  job_id text NOT NULL,
  -- The metric type, e.g. custom.googleapis.com/enx_jobs/heartbeat.
  metric text NOT NULL,
  -- The metric labels ({} for none); jsonb compares equal whatever the key order.
  labels jsonb NOT NULL DEFAULT '{}',
  value double precision NOT NULL,
  observed_at timestamptz NOT NULL,
  -- Set when a value is recorded, cleared when the watchdog takes it.
  pending boolean NOT NULL DEFAULT true,
  PRIMARY KEY (job_id, metric, labels)
);

CREATE INDEX IF NOT EXISTS enx_jobs_gauges_pending ON enx_jobs_gauges (job_id) WHERE pending;
