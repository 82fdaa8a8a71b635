import { pgErrorOf } from '../lib/db.ts';
import { ProblemError } from '../lib/problem.ts';

// Database refusals that are the caller's doing, as problem+json: a unique
// name taken (23505), a row still referenced (23503; 23001 for ON DELETE RESTRICT), a published version
// changed (AL409, raised by the immutability trigger).

export function asProblem(error: unknown, unique: Readonly<Record<string, string>> = {}): unknown {
  const pg = pgErrorOf(error);
  if (pg === undefined) return error;
  if (pg.code === '23505')
    return new ProblemError(
      'conflict',
      (typeof pg.constraint === 'string' && Object.hasOwn(unique, pg.constraint)
        ? unique[pg.constraint]
        : undefined) ?? 'That already exists.',
      {
        extensions: { constraint: pg.constraint },
      },
    );
  if (pg.code === '23503' || pg.code === '23001')
    return new ProblemError('conflict', 'It is still in use by other records; remove those first.', {
      extensions: { constraint: pg.constraint },
    });
  if (pg.code === 'AL409')
    return new ProblemError(
      'conflict',
      'That profile version is published and immutable; edit the draft instead.',
    );
  return error;
}

/** Runs `work`, turning database refusals into problems. */
export async function guarded<T>(
  work: () => Promise<T>,
  unique: Readonly<Record<string, string>> = {},
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asProblem(error, unique);
  }
}
