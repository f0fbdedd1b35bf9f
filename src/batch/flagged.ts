/**
 * Bot-flagged users for batch SQL: the alert store's alerted users (AlertStore.alertedUsers) as a
 * DuckDB table, so that reports can run with and without flagged traffic and the ETL can mark it.
 * One place for that table's name and shape.
 */
import type { DuckDBConnection } from '@duckdb/node-api';

/** The table's name in every batch database: `flagged_users(user_id BIGINT PRIMARY KEY)`. */
export const FLAGGED_USERS_TABLE = 'flagged_users';

/** Creates (or replaces) the flagged-users table in `connection` holding `userIds`. */
export async function createFlaggedUsers(
  connection: DuckDBConnection,
  userIds: readonly number[],
): Promise<void> {
  await connection.run(`CREATE OR REPLACE TABLE ${FLAGGED_USERS_TABLE} (user_id BIGINT PRIMARY KEY)`);
  const app = await connection.createAppender(FLAGGED_USERS_TABLE);
  try {
    for (const id of new Set(userIds)) {
      app.appendBigInt(BigInt(id));
      app.endRow();
    }
  } finally {
    app.closeSync();
  }
}
