import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_DIR } from './paths.ts';

// A private test CA for HTTPS stand-ins, and workerd's trust in it. Miniflare
// adds the certificates named by NODE_EXTRA_CA_CERTS to the trust store of
// workerd's outbound network when its module loads, so this runs from the root
// vitest config, before any project config imports the Workers plugin. Product
// code keeps full certificate verification: the CA is simply trusted, as a
// company CA would be. Made with the openssl CLI; regenerated daily.

export interface TestTls {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly caFile: string;
}

const DIR = join(STATE_DIR, 'test-tls');
const MAX_AGE_MS = 24 * 3600 * 1000;

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: DIR, stdio: ['ignore', 'ignore', 'pipe'] });
}

function fresh(file: string): boolean {
  return existsSync(file) && Date.now() - statSync(file).mtimeMs < MAX_AGE_MS;
}

export function ensureTestTls(): TestTls {
  mkdirSync(DIR, { recursive: true, mode: 0o700 });
  const caFile = join(DIR, 'ca.pem');
  if (!fresh(caFile) || !fresh(join(DIR, 'leaf.pem'))) {
    openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '3',
      '-subj',
      '/CN=Airlock test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    openssl([
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'leaf.key',
      '-out',
      'leaf.csr',
      '-subj',
      '/CN=localhost',
    ]);
    writeFileSync(
      join(DIR, 'leaf.ext'),
      'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
    );
    openssl([
      'x509',
      '-req',
      '-in',
      'leaf.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'leaf.pem',
      '-days',
      '2',
      '-extfile',
      'leaf.ext',
    ]);
  }
  return {
    caFile,
    caPem: readFileSync(caFile, 'utf8'),
    certPem: readFileSync(join(DIR, 'leaf.pem'), 'utf8'),
    keyPem: readFileSync(join(DIR, 'leaf.key'), 'utf8'),
  };
}

/** Make workerd (through Miniflare) trust the test CA; keeps a CA file the caller already named. */
export function trustTestCa(): TestTls {
  const tls = ensureTestTls();
  const existing = process.env.NODE_EXTRA_CA_CERTS;
  if (existing === undefined || existing === tls.caFile) {
    process.env.NODE_EXTRA_CA_CERTS = tls.caFile;
  } else if (existsSync(existing)) {
    const bundle = join(DIR, 'bundle.pem');
    writeFileSync(bundle, `${readFileSync(existing, 'utf8')}\n${tls.caPem}`);
    process.env.NODE_EXTRA_CA_CERTS = bundle;
  }
  return tls;
}
