import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// Which Debian mirror debootstrap should use: the one this machine's apt is
// configured with (one-line `sources.list` entries or deb822 `.sources`
// stanzas), so the image is built from wherever packages already come from.

export interface AptSource {
  readonly uri: string;
  readonly suites: readonly string[];
  readonly components: readonly string[];
}

/** `deb [opts] URI SUITE COMPONENT...` lines. */
export function parseOneLine(text: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line.startsWith('deb ') && !line.startsWith('deb\t')) continue;
    const rest = line
      .slice(3)
      .trim()
      .replace(/^\[[^\]]*\]\s*/, '');
    const [uri, suite, ...components] = rest.split(/\s+/);
    if (uri && suite) sources.push({ uri, suites: [suite], components });
  }
  return sources;
}

/** deb822 stanzas: `Types: deb`, `URIs:`, `Suites:`, `Components:`, `Enabled:`. */
export function parseDeb822(text: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last = '';
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#')) continue;
      if (/^\s/.test(raw) && last) {
        fields.set(last, `${fields.get(last) ?? ''} ${raw.trim()}`);
        continue;
      }
      const match = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(raw);
      if (!match?.[1]) continue;
      last = match[1].toLowerCase();
      fields.set(last, match[2] ?? '');
    }
    const words = (name: string) => (fields.get(name) ?? '').split(/\s+/).filter(Boolean);
    if (!words('types').includes('deb') || fields.get('enabled')?.trim().toLowerCase() === 'no') continue;
    for (const uri of words('uris'))
      sources.push({ uri, suites: words('suites'), components: words('components') });
  }
  return sources;
}

export function configuredSources(root = '/etc/apt'): AptSource[] {
  const sources: AptSource[] = [];
  const list = join(root, 'sources.list');
  if (existsSync(list)) sources.push(...parseOneLine(readFileSync(list, 'utf8')));
  const dir = join(root, 'sources.list.d');
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      const text = readFileSync(join(dir, name), 'utf8');
      if (name.endsWith('.list')) sources.push(...parseOneLine(text));
      else if (name.endsWith('.sources')) sources.push(...parseDeb822(text));
    }
  }
  return sources;
}

/** The mirror serving `suite` with `main`, or an explanation of what is missing. */
export function mirrorFor(suite: string, sources: readonly AptSource[]): string {
  const match = sources.find((s) => s.suites.includes(suite) && s.components.includes('main'));
  if (!match)
    throw new Error(
      `no apt source serves "${suite} main" (looked in /etc/apt/sources.list and sources.list.d); set AIRLOCK_IMAGE_MIRROR`,
    );
  return match.uri;
}
