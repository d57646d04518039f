/**
 * The simulated jobs served the way Cloud Functions serves them: each handler registered with the
 * real Functions Framework and wrapped by its own HTTP server, behind the local stand-in for Cloud
 * Run's IAM front (local/cloud-run-edge.ts) on an ephemeral 127.0.0.1 port, as `npm start` serves
 * them, and called over HTTP with the header Cloud Scheduler sends. One keep-alive connection per
 * job is reused for every request: a simulated week makes thousands of them, and a fresh
 * connection each time would be most of the cost.
 */
import { Agent, createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AnyJobDefinition } from '../functions/core/job-spec';
import type { Runtime } from '../functions/core/runtime';
import { SCHEDULE_TIME_HEADER } from '../functions/core/tick';
import { serveJob } from '../functions/serve-job';
import { cloudRunEdge } from '../local/cloud-run-edge';
import type { CloudRunEdgeOptions } from '../local/cloud-run-edge';

/** The answer field of an answer that is not JSON, so not the function's (the edge's refusals). */
export const NOT_THE_FUNCTION = 'not JSON: not the function answering';

export interface Answer {
  /** Undefined when no HTTP answer came back at all. */
  readonly status?: number;
  readonly body: Record<string, unknown>;
}

export interface FunctionEndpoint {
  readonly definition: AnyJobDefinition;
  /** Sends one scheduled request for the tick, with the caller's token, and waits for the answer. */
  call(tickMs: number, authorization: string): Promise<Answer>;
}

export interface ServedFunctions {
  readonly endpoints: ReadonlyMap<string, FunctionEndpoint>;
  close(): Promise<void>;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

function send(
  agent: Agent,
  port: number,
  method: string,
  tickMs: number,
  authorization: string,
): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        method,
        agent,
        headers: {
          [SCHEDULE_TIME_HEADER]: new Date(tickMs).toISOString(),
          authorization,
          'content-length': '0',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          let body: Record<string, unknown> = {};
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          } catch {
            // The function answers JSON; Cloud Run's front end answers its refusals in HTML.
            body = { status: NOT_THE_FUNCTION };
          }
          resolve({ status: res.statusCode, body });
        });
      },
    );
    // No answer is an answer too: the scheduler counts it as a failed attempt and retries.
    req.on('error', (error) => resolve({ body: { status: 'no answer', error: error.message } }));
    req.end();
  });
}

/** Every simulated function shares one runtime, and so one audience, which the edge checks. */
export async function serveFunctions(
  definitions: readonly AnyJobDefinition[],
  runtime: Runtime,
  edge: CloudRunEdgeOptions,
): Promise<ServedFunctions> {
  const servers: Server[] = [];
  const agents: Agent[] = [];
  const endpoints = new Map<string, FunctionEndpoint>();
  try {
    for (const definition of definitions) {
      const server = createServer(cloudRunEdge(serveJob(definition, runtime).server, edge));
      servers.push(server);
      const port = await listen(server);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      endpoints.set(definition.spec.id, {
        definition,
        call: (tickMs, authorization) => send(agent, port, definition.spec.httpMethod, tickMs, authorization),
      });
    }
  } catch (error) {
    await closeAll(servers, agents);
    throw error;
  }
  return { endpoints, close: () => closeAll(servers, agents) };
}

async function closeAll(servers: readonly Server[], agents: readonly Agent[]): Promise<void> {
  for (const agent of agents) agent.destroy();
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          if (!server.listening) return resolve();
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    ),
  );
}
