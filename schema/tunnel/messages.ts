// Typed JSON payloads of the tunnel frames (PROTOCOL.md §4–§5). The codec hands these over as
// plain objects; the gateway validates them at its boundary before trusting any field.

import type { StreamKindName } from './codec.ts';

export const PROTOCOL_VERSION = 1;
export const DEFAULT_WINDOW = 65_536;

/** HELLO.streams[]: a resumable stream sandboxd still holds. */
export interface HelloStream {
  id: number;
  kind: StreamKindName;
  /** gateway→sandbox DATA bytes sandboxd has received. */
  received: number;
  /** [from, to): sandbox→gateway DATA offsets sandboxd can still re-send; `to` = bytes produced. */
  from: number;
  to: number;
}

export interface Hello {
  versions: number[];
  sessionId: string;
  agent?: string;
  streams: HelloStream[];
}

export interface Welcome {
  version: number;
  sessionId: string;
  /** Single-use bearer token for the next reconnect; rotates on every WELCOME. */
  resumeToken: string;
  window: number;
  /** Streams the gateway keeps, with the sandbox→gateway DATA bytes it has received. */
  streams: { id: number; received: number }[];
}

export type HeaderList = [name: string, value: string][];

export interface PtyMeta {
  command?: string[];
  cwd?: string;
  env?: Record<string, string>;
  cols: number;
  rows: number;
  term?: string;
}

export interface ExecMeta {
  command: string[];
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Where an `http` stream goes, as sandboxd parsed it and the raw values it saw (PROTOCOL.md §5.3). */
export interface HttpAuthority {
  /** sandboxd's parse of the CONNECT target (else the absolute-form URI); null if it did not parse. */
  host: string | null;
  /** Its effective port (the scheme's default when none was written). */
  port: number | null;
  seen: {
    /** The CONNECT request-target, when the request came through a CONNECT tunnel. */
    connect?: string;
    /** The absolute-form request-target's authority, when the request line had one. */
    uri?: string;
    /** The TLS server name, when the client sent one. */
    sni?: string;
    /** The Host header, when sent. */
    host?: string;
  };
}

export interface HttpRequestMeta {
  method: string;
  scheme: 'http' | 'https';
  authority: HttpAuthority;
  path: string;
  headers: HeaderList;
}

export interface HttpResponseHead {
  status: number;
  headers: HeaderList;
}

export interface PortMeta {
  port: number;
}

export interface SignMeta {
  namespace: string;
  format: 'ssh';
  publicKey?: string;
}
