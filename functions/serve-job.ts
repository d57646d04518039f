/**
 * The one way anything outside a deployment serves a job (the local fleet, the simulator, the
 * tests, the benchmarks): the job's handler registered with the real Functions Framework, and the
 * framework's own HTTP server for it, exactly as a deployed instance answers. The caller decides
 * where it listens (a port, supertest, behind the local Cloud Run edge).
 */
import type { Server } from 'node:http';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { createJobHandler } from './core/handler';
import type { AnyJobDefinition } from './core/job-spec';
import type { Runtime } from './core/runtime';

export interface ServedJob {
  /** The name the framework knows the function by (the entry point). */
  readonly name: string;
  /** The framework's server for the function; not listening yet. */
  readonly server: Server;
}

/**
 * The framework keeps one registry per process, and tests serve the same job from several
 * runtimes in one process: unless a name is given, every registration gets one of its own.
 */
let registrations = 0;

export function serveJob(
  definition: AnyJobDefinition,
  runtime: Runtime,
  options: { readonly name?: string } = {},
): ServedJob {
  registrations += 1;
  const name = options.name ?? `${definition.spec.id}_${registrations}`;
  functions.http(name, createJobHandler(definition, runtime));
  return { name, server: getTestServer(name) as Server };
}
