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
  .catchall(z.unknown())
  .meta({ id: 'Problem' });

export type Problem = z.infer<typeof Problem>;

/** One field's problem in a 422: `path` is dotted (`config.base_url`, `repositories.0.repository`). */
export const FieldError = z
  .object({ path: z.string(), message: z.string(), code: z.string() })
  .meta({ id: 'FieldError' });

export const ValidationProblem = Problem.extend({ errors: z.array(FieldError) }).meta({
  id: 'ValidationProblem',
});

export type FieldError = z.infer<typeof FieldError>;
export type ValidationProblem = z.infer<typeof ValidationProblem>;
