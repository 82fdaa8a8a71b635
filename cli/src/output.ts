import Table from 'cli-table3';
import pc from 'picocolors';
import yoctoSpinner from 'yocto-spinner';
import { ApiError } from './api-client.ts';

// How the CLI speaks: data to stdout (an aligned table for people, the API's
// own JSON with --json), everything else to stderr — progress while waiting,
// and every failure as one line with a non-zero exit status.

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A failure the CLI itself detected (bad input, nothing to show), rendered like an API error. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.failed) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string | number | boolean | null | undefined;
}

export class Output {
  readonly json: boolean;
  readonly #stdout: NodeJS.WriteStream;
  readonly #stderr: NodeJS.WriteStream;

  constructor(options: { json: boolean; stdout?: NodeJS.WriteStream; stderr?: NodeJS.WriteStream }) {
    this.json = options.json;
    this.#stdout = options.stdout ?? process.stdout;
    this.#stderr = options.stderr ?? process.stderr;
  }

  /** A list: a table, or with --json the API's JSON as is. */
  list<T>(data: unknown, rows: readonly T[], columns: readonly Column<T>[], empty: string): void {
    if (this.json) {
      this.data(data);
      return;
    }
    if (rows.length === 0) {
      this.note(empty);
      return;
    }
    const table = new Table({
      head: columns.map((c) => pc.bold(c.header)),
      chars: {
        top: '',
        'top-mid': '',
        'top-left': '',
        'top-right': '',
        bottom: '',
        'bottom-mid': '',
        'bottom-left': '',
        'bottom-right': '',
        left: '',
        'left-mid': '',
        mid: '',
        'mid-mid': '',
        right: '',
        'right-mid': '',
        middle: '  ',
      },
      style: { 'padding-left': 0, 'padding-right': 0, head: [], border: [] },
    });
    for (const row of rows) table.push(columns.map((c) => show(c.value(row))));
    this.#stdout.write(`${table.toString()}\n`);
  }

  /** One object: `key  value` lines, or its JSON. */
  record(data: unknown, fields: ReadonlyArray<readonly [string, unknown]>): void {
    if (this.json) {
      this.data(data);
      return;
    }
    const width = Math.max(...fields.map(([k]) => k.length));
    for (const [key, value] of fields) this.#stdout.write(`${pc.bold(key.padEnd(width))}  ${show(value)}\n`);
  }

  data(value: unknown): void {
    this.#stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** Raw text for stdout (logs). */
  write(text: string | Uint8Array): void {
    this.#stdout.write(text);
  }

  /** A human remark; kept off stdout so pipes and --json stay clean. */
  note(message: string): void {
    this.#stderr.write(`${message}\n`);
  }

  success(message: string): void {
    this.note(`${pc.green('✔')} ${message}`);
  }

  /**
   * Shows what a long wait is waiting for: a spinner on a terminal, otherwise one line per change.
   * Returns a handle to update and stop it.
   */
  progress(text: string): Progress {
    if (this.#stderr.isTTY && !this.json) {
      const spinner = yoctoSpinner({ text, stream: this.#stderr }).start();
      return {
        update: (next, detail) => {
          spinner.text = detail === undefined ? next : `${next} ${pc.dim(detail)}`;
        },
        stop: (final) => {
          if (final === undefined) spinner.stop();
          else spinner.success(final);
        },
      };
    }
    let last = '';
    const line = (next: string) => {
      if (next !== last) this.note(`… ${next}`);
      last = next;
    };
    line(text);
    return { update: line, stop: (final) => (final === undefined ? undefined : this.success(final)) };
  }

  /** A failure as one line on stderr (or a JSON object with --json); returns the exit status. */
  fail(error: unknown): number {
    const line = describeError(error);
    if (this.json) {
      const problem = error instanceof ApiError ? error.problem : null;
      this.#stderr.write(`${JSON.stringify({ error: problem ?? { detail: line.message } })}\n`);
    } else
      this.#stderr.write(
        `${pc.red('error:')} ${line.message}${line.hint ? pc.dim(` (${line.hint})`) : ''}\n`,
      );
    return error instanceof CliError ? error.exitCode : EXIT.failed;
  }
}

export interface Progress {
  /** `detail` (e.g. seconds elapsed) shows on a spinner only; without a terminal, only changes of `text` print. */
  update(text: string, detail?: string): void;
  stop(final?: string): void;
}

/** One clear line for any failure: the problem's detail, and its HTTP status and code as a hint. */
export function describeError(error: unknown): { message: string; hint: string | null } {
  if (error instanceof ApiError) {
    const hint =
      error.status === 0
        ? null
        : `HTTP ${error.status} ${error.code}${error.status === 401 ? '; run `airlock login`' : ''}`;
    return { message: oneLine(error.message), hint };
  }
  if (error instanceof Error) return { message: oneLine(error.message), hint: null };
  return { message: oneLine(String(error)), hint: null };
}

const oneLine = (text: string) => printable(text.replace(/\s*\n\s*/g, ' ').trim());

/**
 * Text from the server (names other people chose, problem details echoing input) must not drive
 * the terminal: control, invisible-formatting and line-separator characters print as escapes
 * (`\x1b`, `\u202e`), so an OSC sequence or a direction override shows instead of acting.
 */
export function printable(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (c) => {
    const code = c.codePointAt(0) ?? 0;
    if (c === '\r') return '\\r';
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

function show(value: unknown): string {
  if (value === null || value === undefined || value === '') return pc.dim('—');
  if (typeof value === 'string') return printable(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return printable(JSON.stringify(value));
}

/** `2026-12-02T10:11:12.000Z` → `2026-12-02 10:11:12` (UTC, sortable, short). */
export function when(iso: string | null | undefined): string | null {
  return iso === null || iso === undefined ? null : iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
}
