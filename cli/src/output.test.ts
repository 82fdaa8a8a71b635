import { describe, expect, it } from 'vitest';
import { ApiError } from './api-client.ts';
import { CliError, describeError } from './output.ts';

describe('error lines', () => {
  it('render a problem as its detail plus status and code, on one line', () => {
    const problem = {
      type: 'https://airlock.dev/problems/not-found',
      title: 'Not found',
      status: 404,
      code: 'not_found',
      detail: 'No session ses_X\nin this org.',
    };
    expect(describeError(new ApiError(404, problem, 'fallback'))).toEqual({
      message: 'No session ses_X in this org.',
      hint: 'HTTP 404 not_found',
    });
    expect(
      describeError(new ApiError(401, { ...problem, status: 401, code: 'unauthenticated' }, 'x')).hint,
    ).toBe('HTTP 401 unauthenticated; run `airlock login`');
    expect(describeError(new ApiError(502, null, 'POST /api/x failed with HTTP 502.'))).toEqual({
      message: 'POST /api/x failed with HTTP 502.',
      hint: 'HTTP 502 unknown',
    });
    expect(describeError(new ApiError(0, null, 'Cannot reach http://x.'))).toEqual({
      message: 'Cannot reach http://x.',
      hint: null,
    });
    expect(new CliError('bad flag', 2).exitCode).toBe(2);
  });
});
