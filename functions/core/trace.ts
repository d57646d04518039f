/**
 * Trace correlation: Cloud Run passes X-Cloud-Trace-Context ("TRACE_ID/SPAN_ID;o=1"); logging it as
 * `logging.googleapis.com/trace` puts every line of an attempt under the request in Logs Explorer.
 */
export interface TraceContext {
  readonly trace?: string;
  readonly spanId?: string;
}

export function traceFromHeader(header: string | undefined, projectId: string | undefined): TraceContext {
  if (!header || !projectId) return {};
  const match = /^([0-9a-fA-F]{32})(?:\/(\d+))?/.exec(header);
  if (!match) return {};
  return {
    trace: `projects/${projectId}/traces/${match[1]}`,
    spanId: match[2] ? BigInt(match[2]).toString(16).padStart(16, '0') : undefined,
  };
}
