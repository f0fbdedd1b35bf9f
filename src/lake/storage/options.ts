/** The lake's options: the config file's `lake` section (core/config.ts). */
import { z } from 'zod';
import { lakeLocationProblem } from './location.js';

export const lakeOptionsSchema = z
  .object({
    /**
     * A folder or `s3://bucket/prefix?region=…&endpoint=…` (location.ts); absent: `<dataDir>/lake`.
     * An S3 lake is staged in `<dataDir>/lake-staging` and read through `<dataDir>/lake-cache`.
     */
    location: z
      .string()
      .optional()
      .superRefine((value, ctx) => {
        const problem = value === undefined ? undefined : lakeLocationProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
  })
  .strict();
