/**
 * The child of function-process.ts: one test job served through the local Cloud Run edge, with the
 * Runtime built from the given environment exactly as a deployed instance builds it.
 */
import { Runtime } from '../../functions/core/runtime';
import type { Env } from '../../functions/core/config';
import { defineJob } from '../../functions/core/job-spec';
import { serveFunction } from '../../local/function-servers';
import { productionWiring } from '../../functions/wiring';
import { testJobSpec } from './test-jobs';

interface ChildSpec {
  readonly jobId: string;
  readonly env: Env;
  readonly edge: { readonly issuer: string; readonly jwksUrl: string; readonly invokers: readonly string[] };
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.ENX_CHILD_SPEC ?? '{}') as ChildSpec;
  const definition = defineJob(testJobSpec(spec.jobId), async (context) => {
    const { rows } = await context.db.query('SELECT current_database() AS name');
    return { database: rows[0].name as string };
  });
  // Wired as the deployed entry (functions/index.ts) wires it.
  const fn = await serveFunction(
    definition,
    (url) => new Runtime({ ...spec.env, OIDC_AUDIENCE: url }, productionWiring),
    {
      ...spec.edge,
      invokers: () => spec.edge.invokers,
    },
  );
  process.stdout.write(`READY ${fn.url}\n`);
  process.once('SIGTERM', () => {
    void fn
      .closeServer(100)
      .then(() => fn.runtime.close())
      .finally(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
