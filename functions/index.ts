/**
 * The deployed entry point: registers every job with the Functions Framework, under its job id
 * (the function's entry point). One source archive serves every function; each deployment selects
 * its job by entry point.
 */
import * as functions from '@google-cloud/functions-framework';
import { createJobHandler } from './core/handler';
import { Runtime } from './core/runtime';
import { jobDefinitions } from './jobs';

const runtime = new Runtime(process.env);

for (const definition of jobDefinitions) {
  functions.http(definition.spec.id, createJobHandler(definition, runtime));
}
