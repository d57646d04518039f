/**
 * emailer-sms-errors settings: the shared emailer and SMTP settings, plus the threshold and the
 * Twilio error codes that do not count towards it.
 */
import { defineConfig, integer, list } from '../../core/config';
import { smtpFields, smtpProblems } from '../../adapters/smtp-settings';
import { emailerFields } from '../emailer/config';

export const smsErrorsConfig = defineConfig(
  'emailer-sms-errors',
  {
    ...emailerFields,
    ...smtpFields,
    ignoredErrorCodes: list(
      'SMS_IGNORED_ERROR_CODES',
      '30003,30004,30005,30006',
      'Comma-separated SMS error codes left out of the count (default: phone off, blocked, invalid number, landline).',
    ),
    threshold: integer(
      'SMS_ERRORS_EMAIL_THRESHOLD',
      '50',
      "A realm is mailed when today's (UTC) counted SMS errors reach this number.",
      { min: 1 },
    ),
  },
  smtpProblems,
);

export type SmsErrorsConfig = ReturnType<typeof smsErrorsConfig.parse>;
