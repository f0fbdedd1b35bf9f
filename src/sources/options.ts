/** The dataset reader's options that the config file sets (core/config.ts composes them). */
import { z } from 'zod';

/** The longest accepted row: memory per reader is bounded by it (csv.ts). */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

export const readerConfigFields = {
  maxLineBytes: z.number().int().min(256).default(DEFAULT_MAX_LINE_BYTES),
};
