/**
 * The warehouse's own environment variables (index.ts documents them with the common ones).
 */
import { ConsumerConfigError } from '../../shared/consumer';
export { bigqueryFromEnv } from '../../shared/consumer/env';
import type { BatcherOptions } from './batcher';
import { TABLES_MODE_ENV, type TablesMode } from './verify';

type Env = Record<string, string | undefined>;

/** A positive integer from the environment, or undefined (the default applies). */
function positiveInt(env: Env, name: string): number | undefined {
  const text = env[name]?.trim();
  if (!text) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new ConsumerConfigError(`${name} "${text}" is not a positive integer`);
  return value;
}

export function batchFromEnv(env: Env = process.env): BatcherOptions {
  return {
    maxItems: positiveInt(env, 'WAREHOUSE_BATCH_ROWS'),
    maxBytes: positiveInt(env, 'WAREHOUSE_BATCH_BYTES'),
    maxDelayMs: positiveInt(env, 'WAREHOUSE_BATCH_DELAY_MS'),
  };
}

/**
 * Who creates the tables (verify.ts): MESH_WAREHOUSE_TABLES=create|verify; unset, create on the local
 * endpoint (BIGQUERY_EMULATOR_HOST set) and verify against BigQuery, where the deployment owns them.
 */
export function tablesModeFromEnv(env: Env = process.env): TablesMode {
  const text = env[TABLES_MODE_ENV]?.trim().toLowerCase();
  if (!text) return env.BIGQUERY_EMULATOR_HOST?.trim() ? 'create' : 'verify';
  if (text !== 'create' && text !== 'verify') throw new ConsumerConfigError(`${TABLES_MODE_ENV} "${env[TABLES_MODE_ENV]}" must be create or verify`);
  return text;
}
