/**
 * Defaults of the SNS notifier, apart from its code so that the config file's schema (core/config.ts)
 * can take them without loading the AWS SDK.
 */

/** The reference architecture's topic for high-severity incidents. */
export const DEFAULT_SNS_TOPIC = 'ecomm-user-high-severity-incidents';
