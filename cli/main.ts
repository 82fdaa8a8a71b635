#!/usr/bin/env node
import { main } from './src/program.ts';

// `airlock`: see README.md. The built bundle (dist/airlock.js) starts here too.
process.exitCode = await main(process.argv.slice(2));
