// Status words as coloured badges; the word itself carries the meaning, the colour only repeats it.

const TONES: Readonly<Record<string, 'good' | 'bad' | 'busy' | 'neutral' | 'warn'>> = {
  ready: 'good',
  running: 'good',
  active: 'good',
  online: 'good',
  published: 'good',
  brokered: 'good',
  healthy: 'good',
  failed: 'bad',
  error: 'bad',
  denied: 'bad',
  leak_blocked: 'bad',
  revoked: 'bad',
  offline: 'warn',
  unhealthy: 'warn',
  passthrough: 'warn',
  pending: 'busy',
  building: 'busy',
  provisioning: 'busy',
  starting: 'busy',
  stopping: 'busy',
  draft: 'neutral',
  stopped: 'neutral',
};

export function StatusBadge({ status, label }: { status: string; label?: string }) {
  // The status comes from the API: only the tones listed here, never an inherited property.
  const tone = Object.hasOwn(TONES, status) ? TONES[status] : 'neutral';
  return <span className={`badge badge-${tone}`}>{label ?? status}</span>;
}
