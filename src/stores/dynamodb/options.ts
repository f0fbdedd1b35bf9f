/**
 * Defaults of the DynamoDB alert store, apart from its code so that the config file's schema
 * (core/config.ts) can take them without loading the AWS SDK.
 */

/** The reference architecture's table. */
export const DEFAULT_DYNAMODB_TABLE = 'ddb-ecommerce-tab-1';
