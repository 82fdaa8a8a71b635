import { createClient, createClientPool, RESP_TYPES } from 'redis';
import { refusal, upstashScriptFlags } from './redis-rest-commands.ts';
import type { Args, Outcome } from './redis-rest-wire.ts';

// The Redis connections behind the REST server.
//
// - Single commands and pipelines share one connection: with every
//   connection-state command refused (redis-rest-commands.ts) nothing a
//   request sends can change it, and node-redis pipelines the commands of
//   concurrent requests on it in order.
// - A transaction borrows a connection from a pool for its MULTI … EXEC, so
//   no other request's command can land inside it and its queued state ends
//   with it.
// - An event stream (/subscribe, /psubscribe) gets a connection of its own,
//   closed when the stream ends.
//
// Replies keep what JSON must carry exactly: strings as Buffers (binary-safe,
// base64 on request) and integers as their digits.

const REPLY_TYPES = {
  [RESP_TYPES.BLOB_STRING]: Buffer,
  [RESP_TYPES.SIMPLE_STRING]: Buffer,
  [RESP_TYPES.NUMBER]: String,
} as const;

const TRANSACTION_CONNECTIONS = 16;
const ACQUIRE_TIMEOUT_MS = 10_000;

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

function connection(url: string) {
  // RESP2: Upstash answers in RESP2's shapes (HGETALL as a flat list, no maps or doubles).
  const client = createClient({ url, RESP: 2 });
  client.on('error', () => {}); // it reconnects on its own; requests in flight get the error
  return client;
}

export type StreamConnection = ReturnType<typeof connection>;

export interface Connections {
  run(args: Args): Promise<Outcome>;
  pipeline(commands: readonly Args[]): Promise<Outcome[]>;
  /** One outcome per command, or one error when the transaction is discarded as a whole. */
  transaction(commands: readonly Args[]): Promise<Outcome[] | { readonly error: string }>;
  /** A new connection for one event stream; the caller destroys it. */
  openStream(): Promise<StreamConnection>;
  close(): Promise<void>;
}

export async function openConnections(url: string): Promise<Connections> {
  const shared = connection(url);
  await shared.connect();
  const pool = createClientPool(
    { url, RESP: 2 },
    { minimum: 1, maximum: TRANSACTION_CONNECTIONS, acquireTimeout: ACQUIRE_TIMEOUT_MS },
  );
  pool.on('error', () => {});
  try {
    await pool.connect();
  } catch (error) {
    shared.destroy();
    throw error;
  }

  const run = async (args: Args): Promise<Outcome> => {
    const refused = refusal(args);
    if (refused) return { error: refused };
    try {
      return {
        result: await shared.sendCommand([...upstashScriptFlags(args)], { typeMapping: REPLY_TYPES }),
      };
    } catch (error) {
      return { error: message(error) };
    }
  };

  const transaction = async (commands: readonly Args[]) => {
    // Upstash discards the whole transaction when a command is unsupported.
    const refused = commands.map(refusal).find((reason) => reason !== undefined);
    if (refused) return { error: refused };
    return pool.execute(async (client) => {
      // MULTI, the commands and EXEC leave in one write: EXEC always follows,
      // so the connection goes back to the pool outside any transaction.
      const send = (args: Args) => client.sendCommand([...args], { typeMapping: REPLY_TYPES });
      const replies = await Promise.allSettled([
        send(['MULTI']),
        ...commands.map((args) => send(upstashScriptFlags(args))),
        send(['EXEC']),
      ]);
      // A command Redis could not queue (unknown, wrong arity) aborts the
      // transaction: report that command's error, as Upstash reports one error.
      const failed = replies.find((reply) => reply.status === 'rejected');
      if (failed) return { error: message(failed.reason) };
      const exec = replies.at(-1);
      const results = exec?.status === 'fulfilled' ? exec.value : undefined;
      if (!Array.isArray(results)) return { error: 'ERR the transaction was not executed' };
      return results.map(
        (result: unknown): Outcome => (result instanceof Error ? { error: result.message } : { result }),
      );
    });
  };

  return {
    run,
    pipeline: (commands) => Promise.all(commands.map(run)),
    transaction,
    openStream: async () => {
      const client = connection(url);
      await client.connect();
      return client;
    },
    close: async () => {
      await Promise.allSettled([shared.close(), pool.close()]);
    },
  };
}
