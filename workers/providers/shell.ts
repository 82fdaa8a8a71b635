// A command (argv) as one POSIX shell command line, for APIs that take a
// string and run it with `bash -c` (E2B's envd). Every argument is single-quoted,
// so nothing in it is interpreted; `exec` keeps the exit status the command's own.

export function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'"'"'`)}'`;
}

export function shellCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('an empty command');
  return `exec ${argv.map(shellQuote).join(' ')}`;
}
