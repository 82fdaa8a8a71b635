import { z } from 'zod';

/** RFC 9457 problem details, as every API error is returned (application/problem+json). */
export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string(),
    detail: z.string(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
  })
  .catchall(z.unknown());

export type Problem = z.infer<typeof Problem>;
