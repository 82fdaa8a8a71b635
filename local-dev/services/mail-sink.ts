import { createServer } from 'node:http';

// The console mail sink: accepts the same JSON the production mail API
// (Resend-compatible: from, to, subject, text) takes, prints each message to
// the terminal and keeps the recent ones for GET /messages, where tests and
// newcomers read their login codes.

export interface MailMessage {
  readonly id: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly receivedAt: string;
}

export interface MailSink {
  readonly url: string;
  /** The value for the Worker's `mail.http_endpoint` setting. */
  readonly endpoint: string;
  messages(): readonly MailMessage[];
  close(): Promise<void>;
}

const KEEP = 200;

export async function startMailSink(input: {
  apiKey: string;
  print?: (message: MailMessage) => void;
  port?: number;
}): Promise<MailSink> {
  const messages: MailMessage[] = [];
  let counter = 0;
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method === 'GET' && path === '/messages') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(messages));
      return;
    }
    if (req.method !== 'POST' || path !== '/emails') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}');
      return;
    }
    if (req.headers.authorization !== `Bearer ${input.apiKey}`) {
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end('{"message":"missing or wrong API key"}');
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    let body: { from?: unknown; to?: unknown; subject?: unknown; text?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      res.writeHead(422, { 'content-type': 'application/json' }).end('{"message":"body is not JSON"}');
      return;
    }
    const to = typeof body.to === 'string' ? [body.to] : Array.isArray(body.to) ? body.to.map(String) : [];
    if (typeof body.from !== 'string' || to.length === 0 || typeof body.subject !== 'string') {
      res
        .writeHead(422, { 'content-type': 'application/json' })
        .end('{"message":"from, to and subject are required"}');
      return;
    }
    const message: MailMessage = {
      id: `msg_${++counter}`,
      from: body.from,
      to,
      subject: body.subject,
      text: typeof body.text === 'string' ? body.text : '',
      receivedAt: new Date().toISOString(),
    };
    messages.push(message);
    if (messages.length > KEEP) messages.shift();
    input.print?.(message);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: message.id }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(input.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    endpoint: `${url}/emails`,
    messages: () => messages,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
