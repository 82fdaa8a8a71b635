import type { ProfileVersion } from '@airlock/schema/api';
import { Notice } from '../ui/alert.tsx';

// What each sandbox provider's own network controls do not stop, shown next to
// the provider choice (ADR 0160, 0161): a team picking a provider sees the
// limits of its isolation before its sandboxes run there.

type Provider = ProfileVersion['sandboxProvider'];

const NOTES: Readonly<Record<Provider, string | null>> = {
  docker: null,
  e2b:
    'E2B lets the sandbox reach only the gateway, by name. Its firewall does not stop DNS lookups to ' +
    'its resolver (a slow covert channel in query names) or domain fronting inside the allowed TLS ' +
    'connection (that is the CDN in front of the gateway to refuse). See ADR 0160.',
  modal: 'Modal sandboxes are not available in this build yet (ADR 0161).',
};

export function ProviderNote({ provider }: { provider: Provider }) {
  const note = NOTES[provider];
  return note === null ? null : <Notice tone="warning">{note}</Notice>;
}
