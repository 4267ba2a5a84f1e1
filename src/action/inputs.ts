// Action inputs → Config, masking every secret before anything can log it.
import * as core from '@actions/core';
import { buildConfig, type Config } from '../config.js';
import { INPUTS } from '../constants.js';
import { registeredSecrets } from '../util/redact.js';

export function readActionConfig(): Config {
  for (const spec of INPUTS) {
    if (!spec.secret) continue;
    const value = core.getInput(spec.name);
    if (value) core.setSecret(value);
  }
  const config = buildConfig((name) => core.getInput(name), process.env);
  // buildConfig registered URL passwords and other secrets it found: mask them too.
  for (const secret of registeredSecrets()) core.setSecret(secret);
  return config;
}
