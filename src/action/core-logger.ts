// Logger over @actions/core, so the engine's lines become Actions log lines,
// warnings and error annotations.
import * as core from '@actions/core';
import type { Logger } from '../util/logger.js';
import { redact } from '../util/redact.js';

export const actionsLogger: Logger = {
  info: (m) => core.info(redact(m)),
  warn: (m) => core.warning(redact(m)),
  error: (m) => core.error(redact(m)),
  debug: (m) => core.debug(redact(m)),
  group: (title, fn) => core.group(title, fn),
};
