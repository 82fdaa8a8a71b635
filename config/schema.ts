import { z } from 'zod';

// Every setting Airlock reads. Keys are snake_case so a TOML file, the
// AIRLOCK_* environment names and this schema spell them the same way.
// Fields marked secret are never echoed in error messages.

const secret = (min = 16) => z.string().min(min).meta({ secret: true });
const url = () => z.url({ protocol: /^https?$/ });
const wsOrHttpUrl = () => z.url({ protocol: /^(wss?|https?)$/ });
const positiveInt = () => z.number().int().positive();

/**
 * Keys by name, as a frozen table that inherits nothing: names arrive from outside (a token's
 * `kid`, a ciphertext's key version), and `keys[name]` must find configured keys only — on a
 * plain object `keys['constructor']` is the `Object` function (ADR 0100). Look keys up with
 * `Object.hasOwn` all the same.
 */
const keyTable = <V extends z.ZodType<string>>(name: z.ZodType<string>, value: V) =>
  z
    .record(name, value)
    .transform(
      (keys): Readonly<Record<string, string>> =>
        Object.freeze(Object.assign(Object.create(null) as Record<string, string>, keys)),
    );

/** A signing key set: secrets by `kid`, one of them active. Older kids still verify. */
const tokenPurpose = (issuer: string, audience: string, ttlSeconds: number) =>
  z
    .strictObject({
      keys: keyTable(z.string().regex(/^[a-z0-9-]{1,32}$/, 'a kid of [a-z0-9-]'), secret(32)),
      active_kid: z.string().min(1),
      issuer: z.string().min(1).default(issuer),
      audience: z.string().min(1).default(audience),
      ttl_seconds: positiveInt().default(ttlSeconds),
    })
    .refine((t) => Object.hasOwn(t.keys, t.active_kid), {
      message: 'active_kid must name one of the keys',
      path: ['active_kid'],
    });

export const SandboxProvider = { docker: 'docker', e2b: 'e2b', modal: 'modal' } as const;
export type SandboxProvider = (typeof SandboxProvider)[keyof typeof SandboxProvider];

const services = z.strictObject({
  /** Origin users and the dashboard reach the Worker at. */
  public_url: url().default('http://127.0.0.1:8787'),
  /** Public WebSocket base for sandbox tunnels (remote providers dial it). Defaults to public_url. */
  tunnel_public_url: wsOrHttpUrl().optional(),
});

const database = z.strictObject({
  /** Postgres connection string (Neon in production). */
  url: z.url({ protocol: /^postgres(ql)?$/ }).meta({ secret: true }),
  /** host:port/path of a Neon-protocol WebSocket proxy; set only for local Postgres. */
  ws_proxy: z.string().min(1).optional(),
  /** Whether the driver's WebSocket uses TLS. Off only behind a local proxy. */
  secure_websocket: z.boolean().default(true),
});

const kv = z.strictObject({
  /** Upstash Redis REST endpoint. */
  rest_url: url(),
  rest_token: secret(8),
  /** Prefix for every key Airlock writes, so deployments can share a database. */
  key_prefix: z
    .string()
    .regex(/^[a-z0-9:_-]+$/)
    .default('airlock'),
});

const mail = z
  .strictObject({
    provider: z.enum(['console', 'http']).default('console'),
    from: z.email().default('login@airlock.local'),
    from_name: z.string().default('Airlock'),
    /** Mail-API endpoint (Resend-compatible JSON: from, to, subject, text). */
    http_endpoint: url().optional(),
    http_api_key: secret(8).optional(),
  })
  .refine((m) => m.provider !== 'http' || (m.http_endpoint !== undefined && m.http_api_key !== undefined), {
    message: 'provider "http" needs http_endpoint and http_api_key',
    path: ['http_endpoint'],
  });

const auth = z.strictObject({
  otp: z
    .strictObject({
      length: z.number().int().min(4).max(10).default(6),
      expires_in_seconds: positiveInt().default(600),
      allowed_attempts: positiveInt().default(5),
      /** Codes that may be requested per email per hour. */
      sends_per_hour: positiveInt().default(5),
    })
    .prefault({}),
  session: z
    .strictObject({
      ttl_seconds: positiveInt().default(30 * 24 * 3600),
      cookie_name: z
        .string()
        .regex(/^[A-Za-z0-9_-]+$/)
        .default('airlock_session'),
    })
    .prefault({}),
  /** Extra browser origins allowed to make cookie-authenticated writes (public_url always is). */
  trusted_origins: z.array(url()).default([]),
  /** Hashing pepper for OTP codes and API tokens. */
  pepper: secret(32),
  /** Whether any address may log in (and so create orgs); when false, only existing users and invitees. */
  allow_signup: z.boolean().default(true),
});

const tokens = z.strictObject({
  bootstrap: tokenPurpose('airlock', 'airlock-tunnel', 300),
  pty: tokenPurpose('airlock', 'airlock-pty', 60),
  runner: tokenPurpose('airlock', 'airlock-runner', 30 * 24 * 3600),
  preview: tokenPurpose('airlock', 'airlock-preview', 3600),
});

const integrations = z
  .strictObject({
    /** Version of master_keys used for new ciphertext. */
    active_master_key_version: positiveInt(),
    /** AES-256-GCM keys (base64, 32 bytes) by positive integer version. */
    master_keys: keyTable(
      z.string().regex(/^[1-9][0-9]*$/, 'a positive integer version'),
      z
        .string()
        .regex(/^[A-Za-z0-9+/]{43}=$/, 'base64 of 32 bytes')
        .meta({ secret: true }),
    ),
  })
  .refine((i) => Object.hasOwn(i.master_keys, String(i.active_master_key_version)), {
    message: 'active_master_key_version must name one of master_keys',
    path: ['active_master_key_version'],
  });

const sandbox = z
  .strictObject({
    provider: z.enum(['docker', 'e2b', 'modal']).default('docker'),
    docker: z
      .strictObject({
        /** Base image tag the runner builds locally (runner/images). */
        base_image: z.string().min(1).default('airlock/sandbox-base:latest'),
      })
      .prefault({}),
    /**
     * The npm registry snapshot builds install agent CLIs from, reachable from the build's
     * sandbox as passthrough (no credentials). Never written into the tree: `./dev` fills it
     * from `npm config get registry`. Unset: builds fail with a reason naming this key.
     */
    npm_registry: url().optional(),
    /**
     * Disk (MB) of a sandbox whose profile sets none: the size of the filesystem that holds
     * everything a Docker sandbox can write (home, workspace, temporary files).
     */
    default_disk_mb: z
      .number()
      .int()
      .min(512)
      .max(1024 * 1024)
      .default(10 * 1024),
    /**
     * Whose provider account remote sandboxes (E2B, Modal) run in: `org` — the sandbox-provider
     * connection the profile names (each org pays for and sees its own sandboxes); `deployment` —
     * the keys below, for every org (a hosted Airlock that bills its orgs itself). ADR 0163.
     */
    provider_credentials: z.enum(['org', 'deployment']).default('org'),
    e2b: z
      .strictObject({
        /** The deployment's key; needed only with provider_credentials = "deployment". */
        api_key: secret(8).optional(),
        api_url: url().default('https://api.e2b.app'),
        domain: z.string().min(1).default('e2b.app'),
        /** Envd's address when it is not `https://sandbox.<domain>` (local stand-ins only). */
        sandbox_url: url().optional(),
        /** The base template (Airlock's sandbox image with sandboxd) builds and sessions start from. */
        template: z.string().min(1).default('airlock-base'),
      })
      .optional(),
    modal: z
      .strictObject({
        /** The deployment's token; needed only with provider_credentials = "deployment". */
        token_id: z.string().min(1).optional(),
        token_secret: secret(8).optional(),
        /** Modal's API (gRPC) endpoint; a local stand-in's address in development. */
        endpoint: url().default('https://api.modal.com'),
        app_name: z.string().min(1).default('airlock'),
        /** The base image (Airlock's sandbox image with sandboxd) builds start from. */
        image: z.string().min(1).optional(),
      })
      .optional(),
  })
  .refine((s) => s.provider !== 'e2b' || s.e2b !== undefined, {
    message: 'provider "e2b" needs the [sandbox.e2b] section',
    path: ['e2b'],
  })
  .refine((s) => s.provider !== 'modal' || s.modal !== undefined, {
    message: 'provider "modal" needs the [sandbox.modal] section',
    path: ['modal'],
  })
  .refine(
    (s) => s.provider_credentials !== 'deployment' || s.e2b === undefined || s.e2b.api_key !== undefined,
    {
      message: 'provider_credentials "deployment" needs sandbox.e2b.api_key',
      path: ['e2b', 'api_key'],
    },
  )
  .refine(
    (s) =>
      s.provider_credentials !== 'deployment' ||
      s.modal === undefined ||
      (s.modal.token_id !== undefined && s.modal.token_secret !== undefined),
    {
      message: 'provider_credentials "deployment" needs sandbox.modal.token_id and token_secret',
      path: ['modal', 'token_id'],
    },
  );

const limits = z.strictObject({
  max_concurrent_sessions_per_org: positiveInt().default(10),
  session_ttl_seconds: positiveInt().default(8 * 3600),
  idle_timeout_seconds: positiveInt().default(15 * 60),
  tunnel_grace_seconds: positiveInt().default(60),
  max_request_body_bytes: positiveInt().default(1024 * 1024),
  session_starts_per_minute: positiveInt().default(30),
  /** Commit/tag signatures one session's sandbox may ask for per sliding minute (ADR 0120). */
  signatures_per_minute: positiveInt().max(10_000).default(60),
  /** Login codes that may be requested from one IP address per hour (per email: auth.otp.sends_per_hour). */
  otp_sends_per_ip_per_hour: positiveInt().default(30),
  /** Login-code checks per email, and per IP address, per hour (on top of auth.otp.allowed_attempts per code). */
  otp_verifies_per_hour: positiveInt().default(30),
  scrollback_bytes: z
    .number()
    .int()
    .min(64 * 1024)
    .max(16 * 1024 * 1024)
    .default(2 * 1024 * 1024),
  // Resource bounds of one sandbox's gateway (ADR 0115): what a sandbox, root inside it
  // included, can make its Durable Object hold.
  /** `http` and `sign` streams a sandbox may have open at once; past it a request gets 429. */
  tunnel_max_streams: z.number().int().min(1).max(10_000).default(128),
  /** Bytes the gateway holds for one sandbox beyond one window per stream. */
  tunnel_buffer_bytes: z
    .number()
    .int()
    .min(1024 * 1024)
    .max(256 * 1024 * 1024)
    .default(32 * 1024 * 1024),
  /** Largest WebSocket message through the gateway, either way; at most half of tunnel_buffer_bytes. */
  websocket_message_bytes: z
    .number()
    .int()
    .min(64 * 1024)
    .max(64 * 1024 * 1024)
    .default(16 * 1024 * 1024),
  /** Denied requests are audited as one row per (session, host, decision) and window of this length, with a count. */
  denied_audit_window_seconds: z.number().int().min(1).max(3600).default(60),
});

const runners = z
  .strictObject({
    /** How often a connected runner sends a heartbeat (with the sandboxes it has). */
    heartbeat_seconds: positiveInt().default(15),
    /** A runner silent this long is offline: its assignments fail and its sandboxes are written off. */
    offline_grace_seconds: positiveInt().default(90),
  })
  .refine((r) => r.offline_grace_seconds >= 2 * r.heartbeat_seconds, {
    message: 'offline_grace_seconds must be at least twice heartbeat_seconds',
    path: ['offline_grace_seconds'],
  });

export const ConfigSchema = z
  .strictObject({
    /**
     * Where this deployment runs. `local` (what `./dev` sets) is the only one that lets a
     * connection send credentials to a plain http:// destination (loopback stand-ins, ADR 0120).
     */
    env: z.enum(['local', 'development', 'production']).default('development'),
    services: services.prefault({}),
    database,
    kv,
    mail: mail.prefault({}),
    auth,
    tokens,
    integrations,
    sandbox: sandbox.prefault({}),
    limits: limits.prefault({}),
    runners: runners.prefault({}),
  })
  .refine((c) => c.limits.websocket_message_bytes * 2 <= c.limits.tunnel_buffer_bytes, {
    message: 'websocket_message_bytes must be at most half of tunnel_buffer_bytes',
    path: ['limits', 'websocket_message_bytes'],
  })
  .refine((c) => c.env !== 'production' || c.mail.provider !== 'console', {
    message:
      'mail.provider "console" prints login codes and is for development only; use "http" in production',
    path: ['mail', 'provider'],
  });

export type Config = z.output<typeof ConfigSchema>;

/** Whether credentials may go to a plain http:// destination: only on a `local` deployment (ADR 0120). */
export function allowsPlainHttp(config: Pick<Config, 'env'>): boolean {
  return config.env === 'local';
}
export type ConfigInput = z.input<typeof ConfigSchema>;
export type TokenPurpose = keyof Config['tokens'];
