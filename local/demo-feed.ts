/**
 * Keeps the demo data flowing while the fleet runs, as a live verification server keeps writing
 * rows: every few minutes it asks for this hour's demo batch, which seeds it once per clock hour
 * (demo-data.ts), so cleanup-worker has rows crossing its thresholds for as long as the fleet runs.
 */
import type { Db } from '../functions/core/db';
import { seedDemoData } from './demo-data';
import type { DemoSeed, DemoThresholds } from './demo-data';

export interface DemoFeed {
  stop(): Promise<void>;
}

export function startDemoFeed(options: {
  readonly db: Db;
  readonly thresholds: DemoThresholds;
  readonly intervalMs: number;
  readonly onSeeded: (seed: DemoSeed) => void;
  readonly onError: (error: unknown) => void;
}): DemoFeed {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = seedDemoData(options.db, { now: new Date(), thresholds: options.thresholds })
      .then((seed) => {
        if (seed.batch) options.onSeeded(seed);
      }, options.onError)
      .finally(() => {
        running = undefined;
      });
  }, options.intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
