import type { Socket } from 'node:net';

// What E2B's egress proxy reads off a new TCP connection before deciding: the
// HTTP request head's Host (port 80) or the TLS ClientHello's SNI (port 443).
// The bytes read are replayed to the upstream untouched.

const MAX_PEEK = 16 * 1024;

/** Read from `socket` until `done` says it has enough (or MAX_PEEK / the timeout). */
export function peek(socket: Socket, done: (bytes: Buffer) => boolean, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    const finish = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', finish);
      socket.off('error', finish);
      socket.pause();
      resolve(buffered);
    };
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= MAX_PEEK || done(buffered)) finish();
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', onData);
    socket.on('end', finish);
    socket.on('error', finish);
    socket.resume();
  });
}

export const httpHeadComplete = (bytes: Buffer) => bytes.includes('\r\n\r\n');

/** The Host header of an HTTP/1 request head, without its port; null if there is none. */
export function httpHost(bytes: Buffer): string | null {
  const head = bytes.toString('latin1').split('\r\n\r\n')[0] ?? '';
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === 'host') {
      const value = line
        .slice(colon + 1)
        .trim()
        .toLowerCase();
      return value.startsWith('[') ? value : (value.split(':')[0] ?? null);
    }
  }
  return null;
}

/** Whether a whole TLS handshake record (the ClientHello) is buffered. */
export function tlsRecordComplete(bytes: Buffer): boolean {
  if (bytes.length < 5) return false;
  if (bytes[0] !== 0x16) return true; // not TLS: nothing more to wait for
  return bytes.length >= 5 + bytes.readUInt16BE(3);
}

/** The server_name of a TLS ClientHello; null when absent or not TLS. */
export function tlsSni(bytes: Buffer): string | null {
  try {
    if (bytes[0] !== 0x16 || bytes[5] !== 0x01) return null;
    let at = 5 + 4 + 2 + 32; // record header, handshake header, version, random
    at += 1 + (bytes[at] ?? 0); // session id
    at += 2 + bytes.readUInt16BE(at); // cipher suites
    at += 1 + (bytes[at] ?? 0); // compression methods
    const end = at + 2 + bytes.readUInt16BE(at);
    at += 2;
    while (at + 4 <= end) {
      const type = bytes.readUInt16BE(at);
      const length = bytes.readUInt16BE(at + 2);
      at += 4;
      if (type === 0) {
        // server_name list: total length, then (type 0, length, name)
        const nameLength = bytes.readUInt16BE(at + 3);
        return bytes
          .subarray(at + 5, at + 5 + nameLength)
          .toString('ascii')
          .toLowerCase();
      }
      at += length;
    }
  } catch {
    return null;
  }
  return null;
}
