import type { Args } from './redis-rest-wire.ts';

// Where Upstash's REST API differs from a Redis connection in what it runs.
//
// Every REST request stands alone, so Upstash refuses what only makes sense on
// a connection of one's own (its REST compatibility table and the command
// reference): connection commands but PING and ECHO (no SELECT, CLIENT, HELLO,
// AUTH, RESET, QUIT), the raw transaction commands (transactions go through
// /multi-exec), subscribing (through /subscribe and /psubscribe) and MONITOR,
// and blocking commands. Run here on the shared connection, any of them would
// leak into every later request (SUBSCRIBE would even stop it answering), so
// refusing them is what keeps requests apart, as on Upstash.

const OWN_CONNECTION: ReadonlyMap<string, string> = new Map([
  ...['AUTH', 'CLIENT', 'HELLO', 'QUIT', 'RESET', 'SELECT'].map(
    (name) =>
      [
        name,
        'requests share no connection state; only PING and ECHO of the connection commands are',
      ] as const,
  ),
  ...['MULTI', 'EXEC', 'DISCARD', 'WATCH', 'UNWATCH'].map(
    (name) => [name, 'send the transaction to /multi-exec (WATCH is not supported)'] as const,
  ),
  ...['SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE'].map(
    (name) => [name, 'subscribe through the /subscribe or /psubscribe event stream'] as const,
  ),
  ...['MONITOR', 'SYNC', 'PSYNC'].map((name) => [name, 'it takes over the connection'] as const),
]);

const BLOCKING = new Set([
  'BLPOP',
  'BRPOP',
  'BRPOPLPUSH',
  'BLMOVE',
  'BLMPOP',
  'BZPOPMIN',
  'BZPOPMAX',
  'BZMPOP',
  'WAIT',
  'WAITAOF',
]);

/** XREAD and XREADGROUP block when BLOCK comes among their options, before STREAMS. */
function blocksStream(name: string, args: Args): boolean {
  if (name !== 'XREAD' && name !== 'XREADGROUP') return false;
  const options = args.slice(1).map((arg) => arg.toUpperCase());
  const streams = options.indexOf('STREAMS');
  return options.slice(0, streams === -1 ? undefined : streams).includes('BLOCK');
}

/** Why Upstash refuses this command over REST, as the error it answers; undefined when it runs it. */
export function refusal(args: Args): string | undefined {
  const given = args[0] ?? '';
  const name = given.toUpperCase();
  const reason =
    BLOCKING.has(name) || blocksStream(name, args)
      ? 'blocking commands are not supported'
      : OWN_CONNECTION.get(name);
  return reason === undefined ? undefined : `ERR '${given}' is not available over REST: ${reason}`;
}

// Upstash accepts the script flag `allow-key-locking` (used by @upstash/ratelimit);
// plain Redis rejects unknown shebang flags. Dropping it keeps the same
// semantics on a single Redis. EVALSHA of the flagged script's hash then
// answers NOSCRIPT and clients fall back to EVAL, as they do against Upstash.
export function upstashScriptFlags(args: Args): Args {
  const name = args[0]?.toUpperCase();
  const at =
    name === 'EVAL' || name === 'EVAL_RO'
      ? 1
      : name === 'SCRIPT' && args[1]?.toUpperCase() === 'LOAD'
        ? 2
        : -1;
  const script = args[at];
  if (script === undefined || !script.startsWith('#!lua')) return args;
  const [shebang = '', ...body] = script.split('\n');
  const flags = /flags=(\S*)/
    .exec(shebang)?.[1]
    ?.split(',')
    .filter((f) => f !== 'allow-key-locking' && f !== '');
  const kept = `#!lua${flags === undefined || flags.length === 0 ? '' : ` flags=${flags.join(',')}`}`;
  return args.map((arg, i) => (i === at ? [kept, ...body].join('\n') : arg));
}
