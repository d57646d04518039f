/**
 * The outside systems a job may touch, each behind a narrow interface with a Google implementation
 * and a local one. Which implementation a runtime gets is decided once, from its settings.
 */
import type { GaugeWriter } from './gauges';
import type { KeyManager } from './key-manager';

export interface Adapters {
  readonly keyManager: KeyManager;
  /** Where the watchdog's gauges go: Cloud Monitoring, or memory locally. */
  readonly gauges: GaugeWriter;
}

export type { KeyManager } from './key-manager';
