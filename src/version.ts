// Kept equal to package.json's version by test/unit/contract.test.ts.
export const TOOL_NAME = 'backup-drill';
export const TOOL_VERSION = '1.0.0';
