/**
 * A loopback stand-in for Cloud Monitoring's MetricService, built from the protos that
 * @google-cloud/monitoring ships, speaking real gRPC (insecure, 127.0.0.1). It keeps every
 * CreateTimeSeries request it receives, can be told to fail, and enforces the one rule that shapes
 * our metric design: a point must be newer than the series' previous point, and points of one series
 * may not be written more often than once per sampling period.
 */
import * as grpc from '@grpc/grpc-js';
import { listenOnLoopback, loadService } from '../../../local/fake-google/grpc-fake';
import { loopbackClientOptions } from '../../../functions/adapters/loopback';
import type { LoopbackClientOptions } from '../../../functions/adapters/loopback';

export interface RecordedRequest {
  readonly name: string;
  readonly timeSeries: Record<string, unknown>[];
}

export interface FakeMetricService {
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** Forgets recorded requests and series history. */
  reset(): void;
  /** The next N calls fail with this gRPC status code. */
  failNext(count: number, code?: grpc.status, message?: string): void;
  /** Client options that reach this fake and never touch Google's auth. */
  clientOptions(): LoopbackClientOptions;
  close(): Promise<void>;
}

const seriesKey = (series: Record<string, unknown>) => JSON.stringify([series.metric, series.resource]);

export async function startFakeMetricService(
  options: { samplingPeriodMs?: number } = {},
): Promise<FakeMetricService> {
  const service = loadService(
    'google/monitoring/v3/metric_service.proto',
    '@google-cloud/monitoring',
    'google.monitoring.v3.MetricService',
  );
  const requests: RecordedRequest[] = [];
  const lastPointMs = new Map<string, number>();
  const samplingPeriodMs = options.samplingPeriodMs ?? 0;
  let failures: { count: number; code: grpc.status; message: string } = {
    count: 0,
    code: grpc.status.OK,
    message: '',
  };

  const server = new grpc.Server();
  server.addService(service, {
    createTimeSeries: (
      call: grpc.ServerUnaryCall<RecordedRequest, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      if (failures.count > 0) {
        failures.count -= 1;
        callback({ code: failures.code, details: failures.message } as grpc.ServiceError, null);
        return;
      }
      const request = call.request;
      requests.push(request);
      for (const series of request.timeSeries ?? []) {
        const points = series.points as { interval: { endTime: { seconds: string; nanos?: number } } }[];
        const end =
          Number(points[0].interval.endTime.seconds) * 1000 + (points[0].interval.endTime.nanos ?? 0) / 1e6;
        const key = seriesKey(series);
        const previous = lastPointMs.get(key);
        if (previous !== undefined && end - previous < samplingPeriodMs) {
          callback(
            {
              code: grpc.status.INVALID_ARGUMENT,
              details:
                'One or more points were written more frequently than the maximum sampling period configured for the metric.',
            } as grpc.ServiceError,
            null,
          );
          return;
        }
        lastPointMs.set(key, end);
      }
      callback(null, {});
    },
  });
  const port = await listenOnLoopback(server);

  return {
    port,
    requests,
    reset() {
      requests.length = 0;
      lastPointMs.clear();
    },
    failNext(count, code = grpc.status.UNAVAILABLE, message = 'injected failure') {
      failures = { count, code, message };
    },
    clientOptions() {
      return loopbackClientOptions(`127.0.0.1:${port}`, 'enx-local');
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
      }),
  };
}
