#!/usr/bin/env node
// Entry point. The Node check runs before anything else is loaded: the engine and the AWS SDK
// need Node ≥ 22, and on an older Node they would fail later with an obscure error.
import { nodeVersionProblem } from './node-version.js';
import { keepMemoryFlat } from '../util/memory.js';

// Commands that stream dumps and files (the others read a manifest or two).
const STREAMING_COMMANDS = new Set(['backup', 'drill', 'restore', 'demo', 'verify', 'download']);

const problem = nodeVersionProblem(process.version);
if (problem) {
  process.stderr.write(`error: ${problem}\n`);
  process.exitCode = 2; // ExitCode.usage: the environment does not fit (see 'backup-drill --help')
} else {
  keepMemoryFlat({ streams: STREAMING_COMMANDS.has(process.argv[2] ?? '') });
  const { runCli } = await import('./main.js');
  process.exitCode = await runCli(process.argv.slice(2));
}
