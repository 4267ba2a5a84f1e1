// Action inputs → Config, masking every secret before anything can log it.
import * as core from '@actions/core';
import { buildConfig, secretsOf, type Config } from '../config.js';
import { INPUTS } from '../constants.js';
import { registeredSecrets } from '../util/redact.js';

export function readActionConfig(): Config {
  for (const spec of INPUTS) {
    if (!spec.secret) continue;
    // A URL's password, not the whole URL: the user must be able to read which part is wrong.
    for (const secret of secretsOf(spec.name, core.getInput(spec.name))) core.setSecret(secret);
  }
  const config = buildConfig((name) => core.getInput(name), process.env);
  // buildConfig registered URL passwords and other secrets it found: mask them too.
  for (const secret of registeredSecrets()) core.setSecret(secret);
  return config;
}
