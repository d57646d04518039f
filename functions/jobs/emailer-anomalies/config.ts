/**
 * emailer-anomalies settings: the shared emailer and SMTP settings, plus how far below its mean a
 * realm's claim ratio must fall to be called anomalous.
 */
import { defineConfig } from '../../core/config';
import { allowedStdevsField } from '../anomaly-setting';
import { smtpFields, smtpProblems } from '../../adapters/smtp-settings';
import { emailerFields } from '../emailer/config';

export const anomaliesConfig = defineConfig(
  'emailer-anomalies',
  {
    ...emailerFields,
    ...smtpFields,
    // The original read this only from the modeler's environment; here it is the emailer's own
    // setting, declared once with the modeler's (anomaly-setting.ts).
    allowedStdevs: allowedStdevsField,
  },
  (config) => smtpProblems(config),
);

export type AnomaliesConfig = ReturnType<typeof anomaliesConfig.parse>;
