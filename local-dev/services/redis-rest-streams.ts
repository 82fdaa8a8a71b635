import type { ServerResponse } from 'node:http';
import type { StreamConnection } from './redis-rest-connections.ts';
import { sseEvent } from './redis-rest-wire.ts';

// /subscribe/<channel>… and /psubscribe/<pattern>… as Upstash serves them: a
// server-sent event stream on a Redis connection of the stream's own, so a
// subscription never touches another request. The events are Upstash's:
//   data: subscribe,<channel>,<count>        data: message,<channel>,<message>
//   data: psubscribe,<pattern>,<count>       data: pmessage,<pattern>,<channel>,<message>
// (@upstash/redis splits them at the first commas, so a message may hold
// commas). Messages are written as published, never base64, whatever
// Upstash-Encoding says: @upstash/redis sends that header and does not decode
// streams. The stream and its connection end together, whichever ends first.

export type StreamKind = 'subscribe' | 'psubscribe';

export interface Streams {
  /** Serves one stream until the client goes away or the server closes. */
  serve(
    kind: StreamKind,
    names: readonly string[],
    res: ServerResponse,
    headers: Record<string, string>,
  ): Promise<void>;
  /** Ends every open stream and waits for their connections to close. */
  close(): Promise<void>;
}

export function createStreams(open: () => Promise<StreamConnection>): Streams {
  const live = new Map<ServerResponse, Promise<void>>();

  const serve: Streams['serve'] = async (kind, names, res, headers) => {
    const client = await open();
    // `destroyed` is set as the response closes: the client may have left while we connected.
    if (res.destroyed) return client.destroy();
    const ended = new Promise<void>((resolve) => res.once('close', resolve)).then(() => client.destroy());
    live.set(res, ended);
    void ended.then(() => live.delete(res));

    // Messages may arrive before the confirmations are written; they wait their turn.
    let confirmed = false;
    const waiting: string[] = [];
    const emit = (payload: string) => {
      if (!confirmed) waiting.push(payload);
      else if (!res.destroyed && !res.writableEnded) res.write(sseEvent(payload));
    };

    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.flushHeaders();
    try {
      const unique = [...new Set(names)];
      if (kind === 'subscribe') {
        await client.subscribe(unique, (message, channel) => emit(`message,${channel},${message}`));
      } else {
        // One listener per pattern: node-redis hands listeners the channel, not the pattern.
        for (const pattern of unique)
          await client.pSubscribe(pattern, (message, channel) =>
            emit(`pmessage,${pattern},${channel},${message}`),
          );
      }
    } catch {
      res.destroy(); // the connection failed; the client sees the stream end
      return ended;
    }
    // Redis confirms each name with the number of subscriptions the connection holds.
    const seen = new Set<string>();
    const confirmations = names.map((name) => `${kind},${name},${seen.add(name).size}`);
    confirmed = true;
    for (const payload of [...confirmations, ...waiting.splice(0)]) emit(payload);
    return ended;
  };

  return {
    serve,
    close: async () => {
      const ending = [...live.entries()];
      for (const [res] of ending) res.destroy();
      await Promise.all(ending.map(([, ended]) => ended));
    },
  };
}
