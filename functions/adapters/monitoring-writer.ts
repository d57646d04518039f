/**
 * The Cloud Monitoring writer every function's signal sink uses: @google-cloud/monitoring's
 * MetricServiceClient on its HTTP/1.1 REST transport, with Google's refusals turned into messages an
 * operator can act on. Loaded on the first metrics write (functions/wiring.ts), so it is one chunk
 * of a function's archive.
 *
 * Why REST, and why the client's own module rather than the package index: both are about the cold
 * start, because every attempt writes metrics and most instances serve one request.
 * - The package index also loads the seven other v3 clients and 1.9 MB of generated protobuf classes
 *   (build/protos/protos.js) that the metric client never uses; the client's module needs only
 *   protos.json. The package has no "exports" map, so the path is open to Node; the import names
 *   the exact file, so an upgrade that moves it fails the build, not a deploy.
 * - On gRPC the client turns every Monitoring proto into a gRPC service definition when it is
 *   constructed; on REST it only reads protos.json. REST is a transport the client documents
 *   (`fallback`, "HTTP/1.1 REST API mode" in google-gax's client-libraries.md, read 2026-12-06).
 * The figures are in docs/decisions.md, "Cold start".
 *
 * On REST a refusal arrives as an HTTP error whose body is Google's JSON error
 * {"error": {code, message, status}}; googleError() turns its status into the same sentence the
 * gRPC adapters give (the role to grant, the setting to check).
 */
import type { TimeSeriesWriter } from './cloud-monitoring-export';
import { googleError, grpcCodeOfRestError, restErrorMessage } from './google-errors';
import { loopbackRestClientOptions } from './loopback';

export interface MonitoringWriterSettings {
  readonly projectId: string;
  /** A loopback stand-in's host:port; empty in production. */
  readonly endpoint: string;
}

/**
 * How the REST transport sends requests: with the runtime's own fetch. Left to itself, gaxios (the
 * HTTP client of google-auth-library) imports the node-fetch package on first use: about 0.3 MB
 * more to load at a cold start, and an ES module Jest cannot import. Tests and production set the
 * same, so both send metrics the same way.
 */
const REST_TRANSPORT = { fetchImplementation: globalThis.fetch };

export async function createMonitoringWriter(
  settings: MonitoringWriterSettings,
): Promise<TimeSeriesWriter & { close(): Promise<void> }> {
  const { MetricServiceClient } = await import('@google-cloud/monitoring/build/src/v3/metric_service_client');
  const client = new MetricServiceClient(
    settings.endpoint
      ? loopbackRestClientOptions(settings.endpoint, settings.projectId, REST_TRANSPORT)
      : {
          projectId: settings.projectId || undefined,
          fallback: true,
          clientOptions: { transporterOptions: REST_TRANSPORT },
        },
  );
  const project = `projects/${settings.projectId}`;
  return {
    async createTimeSeries(request) {
      try {
        return await client.createTimeSeries(request);
      } catch (error) {
        throw googleError(
          {
            service: 'Cloud Monitoring',
            action: 'write time series to',
            resource: request.name ?? project,
            role: 'roles/monitoring.metricWriter',
            setting: 'GOOGLE_CLOUD_PROJECT',
          },
          withGoogleMessage(error),
          grpcCodeOfRestError(String((error as Error)?.message), httpStatusOf(error)),
        );
      }
    },
    close: () => client.close(),
  };
}

/** The HTTP status gaxios puts on the error of a refused request. */
function httpStatusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** The error with Google's own message as its details, for googleError() to quote. */
function withGoogleMessage(error: unknown): unknown {
  const message = restErrorMessage(String((error as Error)?.message));
  return message ? { details: message, cause: error } : error;
}
