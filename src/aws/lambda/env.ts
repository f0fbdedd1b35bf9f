/**
 * The handlers' settings from their environment (the CDK app sets them: infra/lib/handlers.ts),
 * validated once per container with the config file's own schema, so that a bad value is a clear
 * CONFIG error in the function's log rather than a failure deep inside a batch.
 */
import { DEFAULT_CONFIG, type DetectConfig } from '../../core/config.js';
import { errorMessage, StorepulseError } from '../../core/errors.js';
import { detectOptionsSchema } from '../../core/rules/options.js';

/** A shard silent this long stops holding the watermark back; Lambda polls a busy shard about once a second. */
const DEFAULT_IDLE_SHARD_MS = 10_000;

export function requiredEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new StorepulseError('CONFIG', `environment variable ${name} is not set`);
  return v;
}

/** DETECT_CONFIG: the config file's `detect` section as JSON; absent: the defaults. */
export function detectConfigFromEnv(): DetectConfig {
  const text = process.env.DETECT_CONFIG;
  if (!text) return DEFAULT_CONFIG.detect;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new StorepulseError('CONFIG', `DETECT_CONFIG is not JSON: ${errorMessage(err)}`);
  }
  const r = detectOptionsSchema.safeParse(json);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new StorepulseError('CONFIG', `DETECT_CONFIG: ${problems.join('; ')}`);
  }
  return r.data;
}

export function idleShardMsFromEnv(): number {
  const text = process.env.IDLE_SHARD_MS;
  if (!text) return DEFAULT_IDLE_SHARD_MS;
  const ms = Number(text);
  if (!Number.isFinite(ms) || ms < 0)
    throw new StorepulseError('CONFIG', `IDLE_SHARD_MS must be a number of ms >= 0, got ${text}`);
  return ms;
}
