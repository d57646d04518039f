/**
 * The deployed entry point: registers every job with the Functions Framework, under its job id
 * (the function's entry point). One source archive serves every function; each deployment selects
 * its job by entry point.
 *
 * Settings that cannot work (a secret still holding infra's first-deploy placeholder, say) must not
 * stop the instance from starting: Cloud Run would then refuse the whole deploy. The instance
 * starts, and every request fails with the reason, logged at ERROR, until the settings are fixed.
 */
import * as functions from '@google-cloud/functions-framework';
import { createJobHandler } from './core/handler';
import { ConfigError } from './core/errors';
import { Runtime } from './core/runtime';
import { jobDefinitions } from './jobs';
import type { CloudSqlTunnelOpener } from './core/cloud-sql-socket';

/** Loaded on first use only: the connector brings the SQL Admin client, which most instances never need. */
const openCloudSqlTunnel: CloudSqlTunnelOpener = (settings) =>
  import('./adapters/cloud-sql-tunnel').then((tunnel) => tunnel.openCloudSqlTunnel(settings));

function misconfigured(error: ConfigError): functions.HttpFunction {
  return (_req, res) => {
    process.stdout.write(
      `${JSON.stringify({ severity: 'ERROR', event: 'misconfigured', message: `instance cannot run jobs: ${error.message}` })}\n`,
    );
    res.status(500).json({ ok: false, status: 'failed', error: error.message });
  };
}

let runtime: Runtime | undefined;
let startupError: ConfigError | undefined;
try {
  runtime = new Runtime(process.env, { openCloudSqlTunnel });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  startupError = error;
}

for (const definition of jobDefinitions) {
  functions.http(
    definition.spec.id,
    runtime ? createJobHandler(definition, runtime) : misconfigured(startupError as ConfigError),
  );
}
