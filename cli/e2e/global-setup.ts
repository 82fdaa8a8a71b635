import { buildCli } from '../build.ts';

// The suites run the bundle a user would install, so build it first (about a second).
export default async function setup(): Promise<void> {
  await buildCli();
}
