/**
 * The whole fleet in one entry: every job registered under its job id. Deployed functions use
 * their own entry (one job each, built by scripts/build.ts); this one is for running the fleet's
 * code under the Functions Framework CLI in one process (`functions-framework --target=<job id>`).
 */
import { registerDeployed } from './deployed';
import { jobDefinitions } from './jobs';

// CommonJS has no top-level await; the framework builds its server while the connection starts.
void registerDeployed(jobDefinitions);
