import { describe, expect, it } from 'vitest';
import { mirrorFor, parseDeb822, parseOneLine } from './apt-sources.ts';

describe('the apt mirror for debootstrap', () => {
  it('reads one-line sources, options and comments included', () => {
    const sources = parseOneLine(
      '# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.test/debian bookworm main contrib\ndeb-src http://src.test/debian bookworm main\n',
    );
    expect(sources).toEqual([
      { uri: 'http://mirror.test/debian', suites: ['bookworm'], components: ['main', 'contrib'] },
    ]);
  });

  it('reads deb822 stanzas, skipping disabled ones and other types', () => {
    const text = [
      'Types: deb\nURIs: http://off.test/debian\nSuites: bookworm\nComponents: main\nEnabled: no',
      'Types: deb-src\nURIs: http://src.test/debian\nSuites: bookworm\nComponents: main',
      'Types: deb\n# a comment\nURIs: http://mirror.test/debian\nSuites: bookworm bookworm-updates\nComponents: main',
      'Types: deb\nURIs: http://security.test/debian-security\nSuites: bookworm-security\nComponents: main',
    ].join('\n\n');
    const sources = parseDeb822(text);
    expect(mirrorFor('bookworm', sources)).toBe('http://mirror.test/debian');
    expect(mirrorFor('bookworm-security', sources)).toBe('http://security.test/debian-security');
    expect(() => mirrorFor('trixie', sources)).toThrow(/no apt source serves "trixie main"/);
  });
});
