import { describe, expect, it } from 'vitest';
import { ApiError } from './api-client.ts';
import { CliError, describeError, Output } from './output.ts';

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

describe('text from the server', () => {
  it('cannot drive the terminal: control and formatting characters in cells and errors show as escapes', async () => {
    const { PassThrough } = await import('node:stream');
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out = new Output({
      json: false,
      stdout: stdout as unknown as NodeJS.WriteStream,
      stderr: stderr as unknown as NodeJS.WriteStream,
    });
    // OSC 52 would write the clipboard; U+202E would flip the line; \r would overwrite it.
    const name = 'prod\x1b]52;c;ZWNobyBwd25lZA==\x07\u202Etxet\rok';
    out.list(null, [{ name }], [{ header: 'Name', value: (r: { name: string }) => r.name }], 'none');
    out.record(null, [['Name', name]]);
    out.fail(
      new ApiError(
        404,
        {
          type: 'about:blank',
          title: 'Not found',
          status: 404,
          code: 'not_found',
          detail: `No profile ${name}.`,
        },
        'x',
      ),
    );
    const printed = `${stdout.read()?.toString() ?? ''}${stderr.read()?.toString() ?? ''}`;
    for (const raw of ['\x07', '\u202E', '\r', '\x1b]']) expect(printed).not.toContain(raw);
    expect(printed).toContain('prod\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\u202etxet\\rok');
  });
});
