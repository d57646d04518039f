/**
 * Google's support schedule for the Node.js runtimes of Cloud Run functions, and the one the fleet
 * deploys on. After its decommission date a runtime can no longer be used to create or update a
 * function (nodejs20 was decommissioned on 2026-10-30, which is how the fleet learnt this), so the
 * tests and the synth preflight read this table and fail before Google refuses a deploy.
 *
 * Source: "Cloud Run functions runtimes", runtime support schedule, Node.js table,
 * https://cloud.google.com/run/docs/runtimes/function-runtimes (read 2026-12-06). Update the table
 * from that page when Google publishes new dates; the dates are the first day of each phase.
 */

export const RUNTIME_SUPPORT_SOURCE = {
  url: 'https://cloud.google.com/run/docs/runtimes/function-runtimes',
  checkedOn: '2026-12-06',
} as const;

export interface RuntimeSchedule {
  readonly id: string;
  /** The Node.js major version the runtime runs; the bundle is built for it. */
  readonly nodeMajor: number;
  /** Preview runtimes have no support commitment; GA ones carry their two dates. */
  readonly stage: 'preview' | 'ga';
  readonly deprecation?: string;
  readonly decommission?: string;
}

export const NODE_RUNTIMES: readonly RuntimeSchedule[] = [
  { id: 'nodejs26', nodeMajor: 26, stage: 'preview' },
  { id: 'nodejs24', nodeMajor: 24, stage: 'ga', deprecation: '2028-04-30', decommission: '2028-10-31' },
  { id: 'nodejs22', nodeMajor: 22, stage: 'ga', deprecation: '2027-04-30', decommission: '2027-10-31' },
  { id: 'nodejs20', nodeMajor: 20, stage: 'ga', deprecation: '2026-04-30', decommission: '2026-10-30' },
  { id: 'nodejs18', nodeMajor: 18, stage: 'ga', deprecation: '2025-04-30', decommission: '2025-10-30' },
];

/**
 * The runtime every function is built and deployed on: the newest GA one, which Google supports
 * until 2028-10-31. The code also stays valid on Node 20, the development machines' version.
 */
export const FUNCTION_RUNTIME = 'nodejs24';

/**
 * The vCPUs every function gets. Left unset, a function gets the CPU its memory implies: 0.167 vCPU
 * at 256 MiB, 0.333 at 512 MiB ("Configure memory limits", required minimum CPUs,
 * https://cloud.google.com/functions/docs/configuring/memory, read 2026-12-06). A cold start is
 * CPU-bound (loading the Functions Framework, the bundle and the Google clients), so at 0.167 vCPU
 * it takes about six times as long as on a whole one. One vCPU allows up to 4 GiB of memory
 * ("Configure CPU limits for services", https://cloud.google.com/run/docs/configuring/cpu, read
 * 2026-12-06; the preflight checks it). The cost is per vCPU-second while a request is served, and
 * the CPU-bound part of a run takes fewer seconds on a whole vCPU, so the bill barely moves.
 *
 * Functions of 256 MiB stay possible at one vCPU: below 512 MiB Cloud Run needs its first
 * generation execution environment (the second starts at 512 MiB; "Configure memory limits",
 * https://cloud.google.com/run/docs/configuring/services/memory-limits, read 2026-12-07), and a
 * function's own default is 256 MiB (the functions page above). The Cloud Functions v2 API has no
 * execution environment setting (google_cloudfunctions2_function's service_config, provider
 * @cdktf/provider-google as installed), so there is nothing to choose here.
 */
export const FUNCTION_CPU = '1';

/** The most memory a function may have at FUNCTION_CPU, from the same page. */
export const MAX_MEMORY_MIB_AT_ONE_CPU = 4096;

export type RuntimeStatus = 'supported' | 'deprecated' | 'decommissioned' | 'preview' | 'unknown';

export function runtimeSchedule(id: string): RuntimeSchedule | undefined {
  return NODE_RUNTIMES.find((runtime) => runtime.id === id);
}

/** Where `id` stands on `day` (dates compared as UTC calendar days). */
export function runtimeStatus(id: string, day: Date): RuntimeStatus {
  const schedule = runtimeSchedule(id);
  if (!schedule) return 'unknown';
  if (schedule.stage === 'preview') return 'preview';
  const today = day.toISOString().slice(0, 10);
  if (schedule.decommission && today >= schedule.decommission) return 'decommissioned';
  if (schedule.deprecation && today >= schedule.deprecation) return 'deprecated';
  return 'supported';
}

/** esbuild's target for the deployed bundle. */
export function bundleTarget(id: string = FUNCTION_RUNTIME): string {
  const schedule = runtimeSchedule(id);
  if (!schedule) throw new Error(`${id} is not in the runtime table (infra/runtime-support.ts)`);
  return `node${schedule.nodeMajor}`;
}
