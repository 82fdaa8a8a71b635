// Structured JSON logs, one object per line, always with the request id.
// Values under secret-looking keys are replaced before anything is written:
// a log line must never carry a credential.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Readonly<Record<string, unknown>>;

const SECRET_KEY =
  /authorization|cookie|token|secret|password|passwd|api[-_]?key|private[-_]?key|credential|otp|code_hash|pepper/i;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  // Keys come from what is logged (parsed bodies too): fromEntries makes each an own property, so
  // a `__proto__` key is logged as a key instead of replacing the copy's prototype.
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      SECRET_KEY.test(key) ? '[redacted]' : redact(inner, depth + 1),
    ]),
  );
}

export interface Logger {
  readonly fields: LogFields;
  child(fields: LogFields): Logger;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export type LogSink = (line: string, level: LogLevel) => void;

const consoleSink: LogSink = (line, level) => {
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
};

export function createLogger(fields: LogFields = {}, sink: LogSink = consoleSink): Logger {
  const write = (level: LogLevel, message: string, extra: LogFields = {}) => {
    const record = redact({ ...fields, ...extra }) as Record<string, unknown>;
    sink(JSON.stringify({ ts: new Date().toISOString(), level, msg: message, ...record }), level);
  };
  return {
    fields,
    child: (more) => createLogger({ ...fields, ...more }, sink),
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}

/** Error detail safe to log or return: credentials embedded in URLs are cut out. */
export function safeErrorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // Drizzle appends the query's parameters; they are row data, not for logs.
  return text
    .replace(/\nparams:[\s\S]*$/, '')
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1[redacted]@');
}
