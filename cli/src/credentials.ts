import {
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { CliError } from './output.ts';

// The API token `airlock login` stores: `$XDG_CONFIG_HOME/airlock/credentials.json`
// (default ~/.config), the file 0600 in a 0700 directory, written atomically.
// A file others could read is refused rather than used, as ssh does with keys.
// The token is never printed.

export const StoredCredentials = z.strictObject({
  version: z.literal(1),
  /** The server this token belongs to; it is never sent anywhere else. */
  url: z.string().url(),
  token: z.string().startsWith('alk_'),
  orgId: z.string(),
  email: z.string(),
  tokenId: z.string().nullable(),
});
export type StoredCredentials = z.infer<typeof StoredCredentials>;

export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME?.startsWith('/')
    ? env.XDG_CONFIG_HOME
    : join(env.HOME ?? homedir(), '.config');
  return join(base, 'airlock', 'credentials.json');
}

export function readCredentials(path: string): StoredCredentials | null {
  let text: string;
  try {
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0)
      throw new CliError(
        `${path} can be read by others (mode ${mode.toString(8)}); run \`chmod 600 ${path}\` or \`airlock login\` again.`,
      );
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof CliError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError(`Cannot read ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(`${path} is not valid JSON; run \`airlock login\` again.`);
  }
  const parsed = StoredCredentials.safeParse(json);
  if (!parsed.success)
    throw new CliError(`${path} is not a credentials file of this CLI; run \`airlock login\` again.`);
  return parsed.data;
}

export function writeCredentials(path: string, credentials: StoredCredentials): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const temp = `${path}.${process.pid}.tmp`;
  // Created 0600 from the start (never briefly readable), then moved into place.
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(credentials, null, 2)}\n`);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

export function removeCredentials(path: string): boolean {
  try {
    statSync(path);
  } catch {
    return false;
  }
  rmSync(path, { force: true });
  return true;
}
