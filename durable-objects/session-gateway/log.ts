// JSON log lines for the gateway. Fields are ids, counts and codes chosen at
// the call site; a credential or a request body is never passed here.

type Fields = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface GatewayLog {
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
}

export function gatewayLog(base: () => Fields): GatewayLog {
  const write = (level: 'info' | 'warn' | 'error', message: string, fields: Fields = {}) => {
    const line = JSON.stringify({ ts: new Date().toISOString(), level, msg: message, ...base(), ...fields });
    if (level === 'error') console.error(line);
    else if (level === 'warn') console.warn(line);
    else console.log(line);
  };
  return {
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}
