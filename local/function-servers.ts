/**
 * Every job served the way Cloud Functions serves it: the handler registered with the real
 * Functions Framework under the job id (the entry point), wrapped by the framework's own HTTP
 * server, one server and port per function, on 127.0.0.1.
 *
 * Each function gets a Runtime of its own, as each Cloud Run service has its own instances: its
 * own pool (DB_MAX_CONNECTIONS per function, as in production) and its own OIDC_AUDIENCE, which is
 * the function's own URL. One shared audience would be simpler, but then a token minted for one
 * function would be accepted by every other; the audience check would never be exercised locally.
 * Since the audience must be known before the handler exists, the port is picked first and the
 * server listens on exactly it (a port taken in between is retried with another).
 *
 * What listens on that port is the local Cloud Run edge (cloud-run-edge.ts), as Google's front end
 * answers on a function's URL: it checks the token and the invoker, removes the signature and only
 * then hands the request to the Functions Framework's own server, which never listens itself.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AnyJobDefinition } from '../functions/core/job-spec';
import type { Runtime } from '../functions/core/runtime';
import { serveJob } from '../functions/serve-job';
import { freePort } from './embedded-postgres';
import { cloudRunEdge } from './cloud-run-edge';
import type { CloudRunEdgeOptions } from './cloud-run-edge';

/** The edge's settings common to every function: the token issuer and the IAM policy. */
export type EdgeSettings = Omit<CloudRunEdgeOptions, 'audience'>;

export interface FunctionServer {
  readonly definition: AnyJobDefinition;
  /** The function's URL, also its OIDC audience. */
  readonly url: string;
  readonly runtime: Runtime;
  /**
   * Stops accepting requests and drops idle connections; connections still busy after `graceMs`
   * are cut (the scheduler has given up on them by then; the job itself runs on and the ledger
   * settles it).
   */
  closeServer(graceMs?: number): Promise<void>;
}

const LISTEN_TRIES = 5;

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export async function serveFunction(
  definition: AnyJobDefinition,
  makeRuntime: (url: string) => Runtime,
  edge: EdgeSettings,
): Promise<FunctionServer> {
  const id = definition.spec.id;
  for (let tries = 1; ; tries += 1) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const runtime = makeRuntime(url);
    const served = serveJob(definition, runtime, { name: id });
    const server = createServer(cloudRunEdge(served.server, { ...edge, audience: url }));
    try {
      await listen(server, port);
    } catch (error) {
      await runtime.close();
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE' && tries < LISTEN_TRIES) continue;
      throw new Error(`could not serve ${id} on 127.0.0.1:${port}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    // As a deployed instance does as it registers (functions/deployed.ts).
    await runtime.warmUp();
    return {
      definition,
      url,
      runtime,
      closeServer: (graceMs = 2000) =>
        new Promise<void>((resolve) => {
          const cut = setTimeout(() => server.closeAllConnections(), graceMs);
          server.close(() => {
            clearTimeout(cut);
            resolve();
          });
          server.closeIdleConnections();
        }),
    };
  }
}

export async function serveFunctions(
  definitions: readonly AnyJobDefinition[],
  makeRuntime: (url: string) => Runtime,
  edge: EdgeSettings,
): Promise<FunctionServer[]> {
  const served: FunctionServer[] = [];
  try {
    for (const definition of definitions) served.push(await serveFunction(definition, makeRuntime, edge));
  } catch (error) {
    for (const fn of served) {
      await fn.closeServer();
      await fn.runtime.close();
    }
    throw error;
  }
  return served;
}
