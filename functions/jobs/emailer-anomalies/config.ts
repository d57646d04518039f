/**
 * emailer-anomalies settings: the shared emailer and SMTP settings, plus how far below its mean a
 * realm's claim ratio must fall to be called anomalous.
 */
import { decimal, defineConfig } from '../../core/config';
import { smtpFields, smtpProblems } from '../../adapters/smtp-settings';
import { emailerFields } from '../emailer/config';

export const anomaliesConfig = defineConfig(
  'emailer-anomalies',
  {
    ...emailerFields,
    ...smtpFields,
    // The original read this only from the modeler's environment and silently turned values <= 0
    // into 1.0; here it is the emailer's own setting and a non-positive value is an error.
    allowedStdevs: decimal(
      'ANOMALY_ALLOWED_STDEVS',
      '2.0',
      "A realm is anomalous when yesterday's claim ratio is more than this many standard deviations below its mean.",
    ),
  },
  (config) => [
    ...smtpProblems(config),
    ...(config.allowedStdevs > 0
      ? []
      : [
          `ANOMALY_ALLOWED_STDEVS must be above 0 (got ${config.allowedStdevs}); 2.0 is the original's default`,
        ]),
  ],
);

export type AnomaliesConfig = ReturnType<typeof anomaliesConfig.parse>;
