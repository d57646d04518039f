/**
 * How a deployed instance serves its jobs: one Runtime from process.env with the production wiring,
 * each job's handler registered with the Functions Framework under its job id (the entry point).
 * The framework's own CLI (functions-framework --target=<job id>) then serves it.
 *
 * Settings that cannot work (a secret still holding infra's first-deploy placeholder, say) must not
 * stop the instance from starting: Cloud Run would then refuse the whole deploy. The instance
 * starts, and every request fails with the reason, logged at ERROR, until the settings are fixed.
 */
import * as functions from '@google-cloud/functions-framework';
import { createJobHandler } from './core/handler';
import { ConfigError } from './core/errors';
import type { AnyJobDefinition } from './core/job-spec';
import { Runtime } from './core/runtime';
import { productionWiring } from './wiring';

function misconfigured(error: ConfigError): functions.HttpFunction {
  return (_req, res) => {
    process.stdout.write(
      `${JSON.stringify({ severity: 'ERROR', event: 'misconfigured', message: `instance cannot run jobs: ${error.message}` })}\n`,
    );
    res.status(500).json({ ok: false, status: 'failed', error: error.message });
  };
}

/**
 * Registers the handlers and starts the instance's database connection. The bundle's entry awaits
 * it at its top level, so the framework, which builds its server once the entry has evaluated,
 * does so while the database prepares the session (Runtime.warmUp).
 */
export async function registerDeployed(definitions: readonly AnyJobDefinition[]): Promise<void> {
  let runtime: Runtime | undefined;
  let startupError: ConfigError | undefined;
  try {
    runtime = new Runtime(process.env, productionWiring);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    startupError = error;
  }
  const warmedUp = runtime?.warmUp();
  for (const definition of definitions) {
    functions.http(
      definition.spec.id,
      runtime ? createJobHandler(definition, runtime) : misconfigured(startupError as ConfigError),
    );
  }
  await warmedUp;
}
