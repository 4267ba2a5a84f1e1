// What the CLI does only on an interactive terminal: colours and the hidden passphrase prompt.
import { BackupDrillError } from '../errors.js';

/** Colours only on a terminal, never with NO_COLOR (any non-empty value), --no-color or TERM=dumb. */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, noColorFlag: boolean): boolean {
  return Boolean(stream.isTTY) && !noColorFlag && !env.NO_COLOR && env.TERM !== 'dumb';
}

const CODES = { red: 31, green: 32, yellow: 33, bold: 1 } as const;
export type Colour = keyof typeof CODES;

export function paint(text: string, colour: Colour, enabled: boolean): string {
  return enabled ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text;
}

/** PASSED / FAILED / NOT VERIFIED words of a result text in their colours. */
export function paintVerdicts(text: string, enabled: boolean): string {
  if (!enabled) return text;
  return text.replace(/\b(PASSED|FAILED|NOT VERIFIED)\b/g, (word) => paint(word, word === 'PASSED' ? 'green' : word === 'FAILED' ? 'red' : 'yellow', true));
}

/** A prompt may be shown: stdin and stderr are a terminal and this is not CI. */
export function canPrompt(env: NodeJS.ProcessEnv, input: { isTTY?: boolean } = process.stdin, output: { isTTY?: boolean } = process.stderr): boolean {
  return Boolean(input.isTTY) && Boolean(output.isTTY) && !env.CI;
}

type TtyInput = NodeJS.ReadStream & { setRawMode?(mode: boolean): unknown };

/**
 * Reads a line without echoing it (raw mode): Enter ends it, Backspace deletes, Ctrl-C or
 * Ctrl-D on an empty line cancels (rejects). The characters never reach the screen.
 */
export function readHidden(question: string, input: TtyInput = process.stdin, output: NodeJS.WritableStream = process.stderr): Promise<string> {
  // Raw mode before the question: a reply typed (or pasted) the moment the question shows must not echo.
  input.setRawMode?.(true);
  output.write(question);
  input.setEncoding('utf8');
  input.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (error?: Error) => {
      input.off('data', onData);
      input.setRawMode?.(false);
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003' || (ch === '\u0004' && !value)) return finish(new BackupDrillError('usage', 'No passphrase given: cancelled at the prompt.'));
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    input.on('data', onData);
  });
}
