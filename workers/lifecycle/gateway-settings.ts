import type { Config } from '@airlock/config';
import type { SessionSettings } from '@airlock/schema/gateway';

// What a gateway gets of config `limits.*` with its plan (the gateway reads no
// config itself, ADR 0040): timers, scrollback, and the resource bounds a
// sandbox cannot push it past (ADR 0115).

export function gatewaySettings(limits: Config['limits']): SessionSettings {
  return {
    scrollbackBytes: limits.scrollback_bytes,
    idleTimeoutSeconds: limits.idle_timeout_seconds,
    tunnelGraceSeconds: limits.tunnel_grace_seconds,
    tunnelSilenceSeconds: 60,
    signaturesPerMinute: limits.signatures_per_minute,
    tunnelMaxStreams: limits.tunnel_max_streams,
    tunnelBufferBytes: limits.tunnel_buffer_bytes,
    websocketMessageBytes: limits.websocket_message_bytes,
    deniedAuditWindowSeconds: limits.denied_audit_window_seconds,
  };
}
