import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { WebSocketServer } from 'ws';

// Neon's serverless driver speaks the Postgres wire protocol over a WebSocket
// (`ws://HOST/v1?address=pghost:pgport`, one binary message per chunk). This
// relays each WebSocket to a TCP connection to one configured Postgres, so the
// Worker's driver reaches a local server. It never dials any other address.

export interface NeonProxy {
  readonly port: number;
  /** The value for the Worker's `database.ws_proxy` setting. */
  readonly wsProxy: string;
  close(): Promise<void>;
}

export function startNeonProxy(input: {
  postgresHost: string;
  postgresPort: number;
  port?: number;
}): Promise<NeonProxy> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('upgrade to a WebSocket\n');
  });
  const wss = new WebSocketServer({ server, path: '/v1' });
  wss.on('connection', (ws) => {
    const tcp = connect({ host: input.postgresHost, port: input.postgresPort });
    tcp.setNoDelay(true);
    const pending: Buffer[] = [];
    let open = false;
    tcp.on('connect', () => {
      open = true;
      for (const chunk of pending.splice(0)) tcp.write(chunk);
    });
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      const chunk = Buffer.isBuffer(data)
        ? data
        : Array.isArray(data)
          ? Buffer.concat(data)
          : Buffer.from(data);
      if (open) tcp.write(chunk);
      else pending.push(chunk);
    });
    tcp.on('data', (chunk) => {
      if (ws.readyState === ws.OPEN) ws.send(chunk);
    });
    const closeBoth = () => {
      tcp.destroy();
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close();
    };
    tcp.on('close', closeBoth);
    tcp.on('error', closeBoth);
    ws.on('close', closeBoth);
    ws.on('error', closeBoth);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(input.port ?? 0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({
        port,
        wsProxy: `127.0.0.1:${port}/v1`,
        close: () =>
          new Promise<void>((done) => {
            for (const client of wss.clients) client.terminate();
            wss.close();
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
