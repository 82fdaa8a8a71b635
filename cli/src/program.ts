import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { attach } from './commands/attach.ts';
import { audit } from './commands/audit.ts';
import { login, logout, whoami } from './commands/login.ts';
import { logs } from './commands/logs.ts';
import * as r from './commands/resources.ts';
import { startSession, stopSession } from './commands/sessions.ts';
import { type Context, createContext, type GlobalOptions } from './context.ts';
import { EXIT, Output } from './output.ts';
import { VERSION } from './version.ts';

// The command tree (commander). Every command takes the global --json, --url
// and --token; each action gets a Context (server, token, org, output) and
// may return an exit status.

type Action = (ctx: Context, ...args: never[]) => Promise<unknown>;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number of at least 1');
  return n;
}

/** Runs an action with a context built from the global options; its result is the exit status. */
function withContext(fn: Action) {
  return async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    const ctx = createContext(command.optsWithGlobals<GlobalOptions>());
    const status = await (fn as (ctx: Context, ...rest: unknown[]) => Promise<unknown>)(
      ctx,
      ...args.slice(0, -1),
    );
    if (typeof status === 'number') process.exitCode = status;
  };
}

function listShow(
  program: Command,
  name: string,
  what: string,
  list: (ctx: Context) => Promise<void>,
  show: (ctx: Context, id: string) => Promise<void>,
  showArg = '<id>',
): Command {
  const group = program.command(name).description(`${what}: list, show`);
  group
    .command('list')
    .alias('ls')
    .description(`List ${what}`)
    .action(withContext((ctx) => list(ctx)));
  group
    .command('show')
    .argument(showArg)
    .description(`Show one of the ${what}`)
    .action(withContext((ctx, id: string) => show(ctx, id)));
  return group;
}

export function buildProgram(): Command {
  const program = new Command('airlock')
    .description('The Airlock command-line client: sessions, terminals, logs and audit from your shell.')
    .version(VERSION, '-V, --version')
    .addOption(new Option('--json', 'print the API JSON (errors too, on stderr)'))
    .addOption(new Option('--url <url>', 'the Airlock server').env('AIRLOCK_URL'))
    .addOption(
      new Option('--token <token>', 'an API token (alk_…); prefer AIRLOCK_TOKEN, `-` reads stdin for login'),
    )
    .showSuggestionAfterError()
    .exitOverride();

  program
    .command('login')
    .description('Log in: approve the shown code in the dashboard (or store a token with --token)')
    .action(async (_opts: unknown, command: Command) => login(command.optsWithGlobals<GlobalOptions>()));
  program
    .command('logout')
    .description('Revoke the stored token and forget it')
    .action(async (_opts: unknown, command: Command) => logout(command.optsWithGlobals<GlobalOptions>()));
  program
    .command('whoami')
    .description('Who the token acts as, and in which org')
    .action(async (_opts: unknown, command: Command) => whoami(command.optsWithGlobals<GlobalOptions>()));

  listShow(program, 'orgs', 'orgs', r.listOrgs, (ctx, id) => r.showOrg(ctx, id), '[org]');
  listShow(program, 'profiles', 'sandbox profiles', r.listProfiles, r.showProfile, '<profile>');
  listShow(program, 'snapshots', 'snapshots', r.listSnapshots, r.showSnapshot);
  listShow(program, 'triggers', 'triggers', r.listTriggers, r.showTrigger);
  listShow(program, 'connections', 'connections', r.listConnections, r.showConnection);

  const sessions = program.command('sessions').description('sessions: list, show, start, stop');
  sessions
    .command('list')
    .alias('ls')
    .description('List sessions, newest first')
    .option('--status <status>', 'only sessions with this status')
    .option('--limit <n>', 'at most this many', positiveInt, 50)
    .action(withContext((ctx, opts: { status?: string; limit: number }) => r.listSessions(ctx, opts)));
  sessions
    .command('show')
    .argument('<session>')
    .description('Show a session and its history')
    .action(withContext((ctx, id: string) => r.showSession(ctx, id)));
  sessions
    .command('start')
    .description("Start a session from a profile's latest published version")
    .requiredOption('--profile <name>', 'profile name or id')
    .option('--prompt <text>', 'run the agent headless with this prompt')
    .option('--wait', 'wait until it runs (headless: until it finishes), showing progress')
    .option('--timeout <seconds>', 'give up waiting after this long', positiveInt, 600)
    .action(
      withContext((ctx, opts: { profile: string; prompt?: string; wait?: boolean; timeout: number }) =>
        startSession(ctx, opts),
      ),
    );
  sessions
    .command('stop')
    .argument('<session>')
    .description('Stop a session')
    .option('--wait', 'wait until it has stopped')
    .option('--timeout <seconds>', 'give up waiting after this long', positiveInt, 300)
    .action(
      withContext((ctx, id: string, opts: { wait?: boolean; timeout: number }) => stopSession(ctx, id, opts)),
    );

  program
    .command('attach')
    .argument('<session>')
    .description("Attach this terminal to a session's terminal (scrollback replayed; the detach key leaves)")
    .option(
      '--terminal <name>',
      '`agent`, or `shell` for a shell next to the agent (opened if needed)',
      'agent',
    )
    .option('--read-only', 'watch without typing')
    .option('--take-over', 'take the keyboard from whoever is typing')
    .option('--detach-key <key>', 'the key that detaches', 'ctrl-]')
    .action(
      withContext(
        (
          ctx,
          id: string,
          opts: { terminal: string; readOnly?: boolean; takeOver?: boolean; detachKey: string },
        ) => attach(ctx, id, opts),
      ),
    );

  program
    .command('logs')
    .argument('<id>', 'a session (ses_…) or snapshot (snp_…)')
    .description("A snapshot's build log, or a session terminal's output")
    .option('-f, --follow', 'keep printing new output until it ends')
    .option('--terminal <name>', "the session's terminal", 'agent')
    .action(
      withContext((ctx, id: string, opts: { follow?: boolean; terminal: string }) => logs(ctx, id, opts)),
    );

  program
    .command('audit')
    .description('The audit trail, newest first')
    .option('--session <id>', 'only this session')
    .option('--host <host>', 'only requests to this host')
    .option('--decision <decision>', 'brokered, passthrough or denied')
    .option('--kind <kind>', 'egress or control')
    .option('--action <action>', 'e.g. session.started')
    .option('--user <id>', 'only this person')
    .option('--connection <id>', 'only this connection')
    .option('--trigger <id>', 'only this trigger')
    .option('--from <time>', 'RFC 3339, inclusive')
    .option('--to <time>', 'RFC 3339, exclusive')
    .option('--limit <n>', 'at most this many', positiveInt, 50)
    .action(withContext((ctx, opts: Parameters<typeof audit>[1]) => audit(ctx, opts)));

  return program;
}

/** Parses and runs; resolves with the exit status. Usage errors are 2, failures 1. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError)
      return error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.exitCode === 0
        ? EXIT.ok
        : EXIT.usage;
    return new Output({ json: argv.includes('--json') }).fail(error);
  }
}
