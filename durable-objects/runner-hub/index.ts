import { DurableObject } from 'cloudflare:workers';

// One per runner: holds the runner's WebSocket (hibernatable, so an idle
// runner costs nothing) and what the runner last reported. The edge checks
// the runner's token before forwarding the upgrade here.

interface SocketAttachment {
  readonly runnerId: string;
  readonly connectedAt: number;
}

export interface RunnerHubStatus {
  readonly connected: number;
  readonly lastSeenAt: number | null;
  readonly messages: number;
}

const MAX_MESSAGE_BYTES = 1024 * 1024;

export class RunnerHub extends DurableObject {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS presence (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      last_seen_at INTEGER,
      messages INTEGER NOT NULL DEFAULT 0
    )`);
    this.#sql.exec('INSERT OR IGNORE INTO presence (id, last_seen_at, messages) VALUES (1, NULL, 0)');
    // Answer keep-alive pings without waking the object from hibernation.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('{"type":"ping"}', '{"type":"pong"}'));
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('expected a WebSocket upgrade', { status: 426, headers: { upgrade: 'websocket' } });
    }
    const runnerId = request.headers.get('x-airlock-runner-id') ?? 'unknown';
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [runnerId]);
    server.serializeAttachment({ runnerId, connectedAt: Date.now() } satisfies SocketAttachment);
    this.#touch();
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const size = typeof message === 'string' ? message.length : message.byteLength;
    if (size > MAX_MESSAGE_BYTES) {
      ws.close(1009, 'message too large');
      return;
    }
    this.#touch();
    const attachment = ws.deserializeAttachment() as SocketAttachment | null;
    if (typeof message === 'string' && message.startsWith('{"type":"whoami"')) {
      ws.send(
        JSON.stringify({
          type: 'whoami',
          runnerId: attachment?.runnerId ?? null,
          connectedAt: attachment?.connectedAt ?? null,
        }),
      );
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // 1005 ("no status") may not be sent back; answer with a normal closure.
    ws.close(code === 1005 ? 1000 : code, reason);
  }

  async status(): Promise<RunnerHubStatus> {
    const row = this.#sql
      .exec<{ last_seen_at: number | null; messages: number }>(
        'SELECT last_seen_at, messages FROM presence WHERE id = 1',
      )
      .one();
    return {
      connected: this.ctx.getWebSockets().length,
      lastSeenAt: row.last_seen_at,
      messages: row.messages,
    };
  }

  #touch(): void {
    this.#sql.exec('UPDATE presence SET last_seen_at = ?, messages = messages + 1 WHERE id = 1', Date.now());
  }
}
