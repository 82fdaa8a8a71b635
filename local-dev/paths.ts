import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const STATE_DIR = process.env.AIRLOCK_STATE_DIR ?? resolve(ROOT, '.airlock');
export const BIN = resolve(ROOT, 'node_modules/.bin');
