#!/usr/bin/env node
import Docker from 'dockerode';
import { FatalRunnerError, HubClient, RUNNER_VERSION } from './src/hub-client.ts';
import { createLogger, errorMessage } from './src/log.ts';
import { loadSettings, SettingsError } from './src/settings.ts';

// `node runner/main.ts`: the Airlock runner. Settings come from AIRLOCK_RUNNER_*
// (see runner/README.md). Exits 2 on bad settings, 3 when the hub refuses the
// token (revoked or replaced: a restart will not help), 1 on other failures.

let settings: ReturnType<typeof loadSettings>;
try {
  settings = loadSettings();
} catch (error) {
  process.stderr.write(
    `airlock-runner: ${error instanceof SettingsError ? error.message : errorMessage(error)}\n`,
  );
  process.exit(2);
}
const log = createLogger({ runnerId: settings.runnerId });
const docker = new Docker();
try {
  await docker.ping();
} catch (error) {
  log.error('the Docker engine is not reachable', { error: errorMessage(error) });
  process.exit(1);
}
const client = new HubClient({ settings, docker, log });
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log.info('stopping', { signal });
    // Sandboxes keep running; a restarted runner finds them and reopens their sockets.
    void client.stop().then(() => process.exit(0));
  });
}
log.info('starting', { version: RUNNER_VERSION, url: settings.url.origin, capacity: settings.capacity });
try {
  await client.run();
} catch (error) {
  log.error('runner stopped', { error: errorMessage(error) });
  process.exit(error instanceof FatalRunnerError ? 3 : 1);
}
