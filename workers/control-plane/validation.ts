import type { FieldError } from '@airlock/schema/api';
import { ProblemError } from '../lib/problem.ts';

// Semantic checks that zod cannot express answer like schema failures:
// 422 problem+json with one entry per field at fault.

export function validationProblem(errors: readonly FieldError[]): ProblemError {
  return new ProblemError(
    'validation_failed',
    errors.map((e) => (e.path === '' ? e.message : `${e.path}: ${e.message}`)).join('; '),
    { extensions: { errors } },
  );
}
