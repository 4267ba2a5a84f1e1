// The oldest Node the CLI runs on. Kept free of imports: it runs before the engine loads.
export const MIN_NODE_MAJOR = 22;

/** A message for a Node that is too old, or undefined when `version` (e.g. `v20.11.1`) fits. */
export function nodeVersionProblem(version: string): string | undefined {
  const major = Number(/^v?(\d+)/.exec(version)?.[1] ?? 0);
  if (major >= MIN_NODE_MAJOR) return undefined;
  return (
    `backup-drill needs Node.js ${MIN_NODE_MAJOR} or newer; this is Node.js ${version}. ` +
    'Install Node.js 22 or newer (24 recommended: https://nodejs.org/en/download) and run it again.'
  );
}
