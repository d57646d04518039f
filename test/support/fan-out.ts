/** Sends to several sinks: a test keeps its own tally beside the sink under test. */
import type { SignalSink } from '../../functions/core/signals';

export function fanOut(...sinks: SignalSink[]): SignalSink {
  return {
    attemptStarted: async (attempt) =>
      void (await Promise.all(sinks.map((sink) => sink.attemptStarted(attempt)))),
    attemptFinished: async (attempt) =>
      void (await Promise.all(sinks.map((sink) => sink.attemptFinished(attempt)))),
    requestRefused: async (refusal) =>
      void (await Promise.all(sinks.map((sink) => sink.requestRefused(refusal)))),
  };
}
