// Guards the SQL script psql runs inside the restore's one transaction.
//
// pg_restore's script output is meant for a psql of its own: it may hold
// statements that end a transaction (`pg_restore -f -` wraps large-object
// data in BEGIN; … COMMIT;). Inside our transaction, one such statement would
// commit the half-done restore and run the rest in autocommit. So the script
// is generated with `--single-transaction` (no inner BEGIN/COMMIT), and this
// guard, between pg_restore and psql, splits it into statements the way
// psql's lexer does (quotes, dollar quotes, nested comments, parentheses,
// BEGIN ATOMIC bodies, COPY … FROM stdin data), strips the one outer
// BEGIN/COMMIT, and refuses loudly anything else that could end or escape the
// transaction: transaction control, psql meta-commands other than
// \restrict/\unrestrict, statements that cannot run in a transaction, and
// settings that would undo the session's read-only default (database.ts).
//
// Text is handled as latin1 so every byte passes through unchanged; the
// server's encodings are all ASCII-safe for these delimiters.
import { IntegrityError } from '../errors.js';

export interface GuardOptions {
  /** The script comes from `pg_restore --single-transaction`: drop its first BEGIN and its final COMMIT. */
  stripOuterTransaction: boolean;
  /** "the dump", "redacted-data.sql": for messages. */
  what: string;
}

/** The script holds a statement that must not run inside the restore's transaction. */
export class ScriptRefused extends IntegrityError {
  constructor(what: string, problem: string) {
    super(`Refused to run ${what}'s SQL script inside the restore's transaction: ${problem}`, {
      hint: 'The restore stops before COMMIT. Report this with the backup\'s pg_dump version (see "backup-drill inspect").',
    });
  }
}

const enum State {
  Normal,
  SingleQuote,
  DoubleQuote,
  Dollar,
  LineComment,
  BlockComment,
}

const IDENT_START = /[A-Za-z_\x80-\xff]/;
const IDENT_CONT = /[A-Za-z0-9_$\x80-\xff]/;
const DOLLAR_DELIM = /^\$([A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*)?\$/;
const DOLLAR_PARTIAL = /^\$([A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*)?$/;
const NEWLINE_TERMINATOR = Buffer.from('\n\\.', 'latin1');

/**
 * Where the COPY terminator line starting at `p` ends (`\\.` then LF or CRLF;
 * at the very end of the script, nothing), -1 if the line is data, or
 * 'undecided' while too few bytes have arrived to tell.
 */
function terminatorEnd(b: Buffer, p: number, final: boolean): number | 'undecided' {
  const n = b.length - p;
  if (n === 0) return final ? -1 : 'undecided';
  if (b[p] !== 0x5c) return -1;
  if (n === 1) return final ? -1 : 'undecided';
  if (b[p + 1] !== 0x2e) return -1;
  if (n === 2) return final ? b.length : 'undecided';
  if (b[p + 2] === 0x0a) return p + 3;
  if (b[p + 2] !== 0x0d) return -1;
  if (n === 3) return final ? b.length : 'undecided';
  return b[p + 3] === 0x0a ? p + 4 : -1;
}
/** Statements longer than this stream through once classified (huge function bodies, long literals). */
const FLUSH_AT = 1024 * 1024;

const TRANSACTION_CONTROL = new Set(['BEGIN', 'START', 'COMMIT', 'END', 'ROLLBACK', 'ABORT', 'SAVEPOINT', 'RELEASE']);
const SESSION_ESCAPES = /transaction_read_only|characteristics|session(_|\s+)authorization/i;

/** Why a statement (its first words, upper-cased; its text) may not run in the restore's transaction, or undefined. */
export function forbiddenStatement(words: string[], text: string): string | undefined {
  const [w0 = '', w1 = ''] = words;
  if (TRANSACTION_CONTROL.has(w0)) return `${w0} would end or change the restore's transaction`;
  if (w0 === 'PREPARE' && w1 === 'TRANSACTION') return "PREPARE TRANSACTION would end the restore's transaction";
  if (w0 === 'VACUUM' || w0 === 'DISCARD') return `${w0} cannot run inside a transaction`;
  if (w0 === 'ALTER' && w1 === 'SYSTEM') return 'ALTER SYSTEM cannot run inside a transaction';
  if ((w0 === 'CREATE' || w0 === 'DROP') && (w1 === 'DATABASE' || w1 === 'TABLESPACE')) return `${w0} ${w1} cannot run inside a transaction`;
  if ((w0 === 'CREATE' || w0 === 'DROP' || w0 === 'REINDEX') && words.slice(1, 5).includes('CONCURRENTLY'))
    return `${w0} … CONCURRENTLY cannot run inside a transaction`;
  if (w0 === 'REINDEX' && (w1 === 'DATABASE' || w1 === 'SYSTEM')) return `REINDEX ${w1} cannot run inside a transaction`;
  if (w0 === 'RESET' && w1 === 'ALL') return "RESET ALL would undo the restore session's settings";
  if ((w0 === 'SET' || w0 === 'RESET') && (w1 === 'TRANSACTION' || SESSION_ESCAPES.test(text)))
    return `${words.slice(0, 3).join(' ')} would change the restore transaction's access mode or role`;
  if (w0 === 'SELECT' && /set_config/i.test(text) && SESSION_ESCAPES.test(text)) return 'set_config of a transaction or role setting';
  return undefined;
}

/**
 * A streaming psql-compatible statement splitter. push() returns the text to
 * pass on; end() the rest, or throws when the script stops mid-statement.
 */
export class ScriptGuard {
  private text = '';
  private pos = 0;
  private state = State.Normal;
  private dollarTag = '';
  private commentDepth = 0;
  private escapes = false;
  private standardStrings = true;
  private parenDepth = 0;
  private beginDepth = 0;
  private identCount = 0;
  private readonly idents = ['', '', '', ''];
  private words: string[] = [];
  /** Where the current statement's first token starts in `text` (-1: none yet). */
  private start = -1;
  private flushed = false;
  private copyData: 'no' | 'rest-of-line' | 'line-start' | 'mid-line' = 'no';
  private bytes: Buffer = Buffer.alloc(0);
  private outerBegun = false;
  private outerCommitted = false;

  constructor(private readonly options: GuardOptions) {}

  push(chunk: Buffer): Buffer[] {
    if (this.inData()) this.bytes = this.bytes.length ? Buffer.concat([this.bytes, chunk]) : chunk;
    else this.text += chunk.toString('latin1');
    return this.run(false);
  }

  end(): Buffer[] {
    const out = this.run(true);
    if (this.copyData !== 'no') this.refuse('it ends inside COPY data (no \\. line): the script is truncated');
    if (this.state !== State.Normal && this.state !== State.LineComment) this.refuse('it ends inside a quoted string or comment: the script is truncated');
    if (this.start !== -1) this.refuse(`it ends inside a statement (${this.excerpt()}): the script is truncated`);
    if (this.options.stripOuterTransaction && !this.outerBegun) this.refuse('it has no BEGIN where pg_restore --single-transaction puts one');
    if (this.options.stripOuterTransaction && !this.outerCommitted) this.refuse('it ends before its final COMMIT: the script is truncated');
    if (this.text) out.push(Buffer.from(this.text, 'latin1'));
    return out;
  }

  /** COPY data is handled as bytes (most of a dump): it is searched natively and passed on without copies. */
  private inData(): boolean {
    return this.copyData === 'line-start' || this.copyData === 'mid-line';
  }

  private refuse(problem: string): never {
    throw new ScriptRefused(this.options.what, problem);
  }

  private excerpt(): string {
    const from = Math.max(this.start, 0);
    return this.text
      .slice(from, Math.min(Math.max(this.pos, from + 1), from + 80))
      .replace(/\s+/g, ' ')
      .trim();
  }

  /** Scans as far as the input allows; returns what may be passed on. */
  private run(final: boolean): Buffer[] {
    const out: Buffer[] = [];
    let text = '';
    const flushText = () => {
      if (text) out.push(Buffer.from(text, 'latin1'));
      text = '';
    };
    for (;;) {
      if (this.copyData === 'rest-of-line') {
        const nl = this.text.indexOf('\n');
        if (nl === -1 && !final) break;
        const rest = nl === -1 ? this.text : this.text.slice(0, nl + 1);
        if (rest.trim()) this.refuse(`text follows a COPY … FROM stdin on its line: ${rest.slice(0, 60)}`);
        text += rest;
        this.bytes = Buffer.from(this.text.slice(rest.length), 'latin1');
        this.text = '';
        this.copyData = 'line-start';
      }
      if (this.inData()) {
        flushText();
        out.push(...this.scanCopy(final));
        if (this.inData()) break; // wait for more
        continue;
      }
      const ended = this.scanStatement(final);
      if (ended !== 'more') {
        text += ended;
        continue;
      }
      if (this.start !== -1 && this.pos > FLUSH_AT && this.words.length > 0 && !this.isOuterCandidate()) {
        text += this.text.slice(0, this.pos);
        this.text = this.text.slice(this.pos);
        this.start = 0;
        this.pos = 0;
        this.flushed = true;
      } else if (this.start === -1) {
        // Whitespace and comments between statements pass at once.
        text += this.text.slice(0, this.pos);
        this.text = this.text.slice(this.pos);
        this.pos = 0;
      }
      break;
    }
    flushText();
    return out;
  }

  private isOuterCandidate(): boolean {
    return this.options.stripOuterTransaction && (this.words[0] === 'BEGIN' || this.words[0] === 'COMMIT');
  }

  /**
   * COPY … FROM stdin data: passes through until a line that is exactly `\\.`
   * (as psql ends it). Searched natively in the bytes, not line by line.
   */
  private scanCopy(final: boolean): Buffer[] {
    const b = this.bytes;
    let from = 0;
    for (let p = this.copyData === 'line-start' ? 0 : -1; ; p = -1) {
      if (p === -1) {
        const i = b.indexOf(NEWLINE_TERMINATOR, from);
        if (i === -1) break;
        p = i + 1;
      }
      const end = terminatorEnd(b, p, final);
      if (end === 'undecided') {
        this.bytes = b.subarray(p);
        this.copyData = 'line-start';
        return [b.subarray(0, p)];
      }
      if (end !== -1) {
        this.text = b.subarray(end).toString('latin1');
        this.bytes = Buffer.alloc(0);
        this.copyData = 'no';
        return [b.subarray(0, end)];
      }
      from = p;
    }
    // No terminator: all of it is data, but for a last line that could still become one ("\n\\").
    const keep = b.length >= 2 && b[b.length - 2] === 0x0a && b[b.length - 1] === 0x5c ? 1 : 0;
    this.bytes = b.subarray(b.length - keep);
    this.copyData = keep || (b.length ? b[b.length - 1] === 0x0a : this.copyData === 'line-start') ? 'line-start' : 'mid-line';
    return [b.subarray(0, b.length - keep)];
  }

  /** Scans one statement; returns its text when it ended, or 'more' when the input ran out first. */
  private scanStatement(final: boolean): string | 'more' {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t[this.pos]!;
      const next = t[this.pos + 1];
      const needMore = next === undefined && !final;
      switch (this.state) {
        case State.LineComment: {
          const nl = t.indexOf('\n', this.pos);
          if (nl === -1) {
            this.pos = t.length;
            return 'more';
          }
          this.pos = nl + 1;
          this.state = State.Normal;
          continue;
        }
        case State.BlockComment:
          if (c === '*' && next === '/') {
            this.pos += 2;
            if (--this.commentDepth === 0) this.state = State.Normal;
          } else if (c === '/' && next === '*') {
            this.pos += 2;
            this.commentDepth++;
          } else if ((c === '*' || c === '/') && needMore) return 'more';
          else this.pos++;
          continue;
        case State.SingleQuote: {
          if (!this.escapes) {
            const q = t.indexOf("'", this.pos);
            if (q === -1) {
              this.pos = t.length;
              return 'more';
            }
            this.pos = q;
          }
          const ch = t[this.pos]!;
          const after = t[this.pos + 1];
          if (ch === '\\' && this.escapes) {
            if (after === undefined && !final) return 'more';
            this.pos += 2;
          } else if (ch === "'") {
            if (after === undefined && !final) return 'more';
            if (after === "'") this.pos += 2;
            else {
              this.pos++;
              this.state = State.Normal;
            }
          } else this.pos++;
          continue;
        }
        case State.DoubleQuote: {
          const q = t.indexOf('"', this.pos);
          if (q === -1) {
            this.pos = t.length;
            return 'more';
          }
          if (q + 1 >= t.length && !final) {
            this.pos = q;
            return 'more';
          }
          if (t[q + 1] === '"') this.pos = q + 2;
          else {
            this.pos = q + 1;
            this.state = State.Normal;
          }
          continue;
        }
        case State.Dollar: {
          const delim = `$${this.dollarTag}$`;
          const end = t.indexOf(delim, this.pos);
          if (end === -1) {
            this.pos = Math.max(this.pos, t.length - delim.length + 1);
            return 'more';
          }
          this.pos = end + delim.length;
          this.state = State.Normal;
          continue;
        }
        case State.Normal:
          break;
      }
      // Normal state.
      if (/\s/.test(c)) {
        this.pos++;
        continue;
      }
      if (c === '-' && (next === '-' || needMore)) {
        if (needMore) return 'more';
        this.state = State.LineComment;
        this.pos += 2;
        continue;
      }
      if (c === '/' && (next === '*' || needMore)) {
        if (needMore) return 'more';
        this.state = State.BlockComment;
        this.commentDepth = 1;
        this.pos += 2;
        continue;
      }
      if (c === '\\') return this.metaCommand(final);
      if (this.start === -1) this.start = this.pos;
      if (c === "'") {
        this.state = State.SingleQuote;
        this.escapes = !this.standardStrings;
        this.pos++;
      } else if (c === '"') {
        this.state = State.DoubleQuote;
        this.pos++;
      } else if (c === '$') {
        const rest = t.slice(this.pos, this.pos + 256);
        const m = DOLLAR_DELIM.exec(rest);
        if (m) {
          this.state = State.Dollar;
          this.dollarTag = m[1] ?? '';
          this.pos += m[0].length;
        } else if (!final && DOLLAR_PARTIAL.test(rest)) return 'more';
        else this.pos++;
      } else if (IDENT_START.test(c)) {
        let e = this.pos + 1;
        while (e < t.length && IDENT_CONT.test(t[e]!)) e++;
        if (e >= t.length && !final) return 'more';
        const word = t.slice(this.pos, e);
        if ((word === 'E' || word === 'e') && t[e] === "'") {
          this.state = State.SingleQuote;
          this.escapes = true;
          this.pos = e + 1;
          continue;
        }
        this.identifier(word);
        this.pos = e;
      } else if (c === '(') {
        this.parenDepth++;
        this.pos++;
      } else if (c === ')') {
        if (this.parenDepth > 0) this.parenDepth--;
        this.pos++;
      } else if (c === ';' && this.parenDepth === 0 && this.beginDepth === 0) {
        this.pos++;
        return this.statementEnded();
      } else this.pos++;
    }
    return 'more';
  }

  /** psql's heuristic for CREATE [OR REPLACE] FUNCTION|PROCEDURE … BEGIN ATOMIC … END (psqlscan.l). */
  private identifier(word: string): void {
    const lower = word.toLowerCase();
    if (this.identCount === 0) this.idents.fill('');
    if (['create', 'function', 'procedure', 'or', 'replace'].includes(lower) && this.identCount < 4) this.idents[this.identCount] = lower[0]!;
    this.identCount++;
    if (this.words.length < 8) this.words.push(word.toUpperCase());
    else if (this.words[0] === 'COPY') this.words.push(word.toUpperCase());
    const [a, b, c, d] = this.idents;
    if (a === 'c' && (b === 'f' || b === 'p' || (b === 'o' && c === 'r' && (d === 'f' || d === 'p'))) && this.parenDepth === 0) {
      if (lower === 'begin') this.beginDepth++;
      else if (lower === 'case') {
        if (this.beginDepth >= 1) this.beginDepth++;
      } else if (lower === 'end' && this.beginDepth > 0) this.beginDepth--;
    }
  }

  /** A psql meta-command: only \restrict and \unrestrict (pg_dump 15.14+) may pass. */
  private metaCommand(final: boolean): string | 'more' {
    const nl = this.text.indexOf('\n', this.pos);
    if (nl === -1 && !final) return 'more';
    const lineEnd = nl === -1 ? this.text.length : nl + 1;
    const name = /^\\([A-Za-z]+|.)/.exec(this.text.slice(this.pos, lineEnd))?.[1] ?? '';
    if (this.start !== -1 || (name !== 'restrict' && name !== 'unrestrict')) {
      this.refuse(`the psql meta-command \\${name} (${this.text.slice(this.pos, Math.min(lineEnd, this.pos + 60)).trim()}) could leave the transaction`);
    }
    const out = this.text.slice(0, lineEnd);
    this.text = this.text.slice(lineEnd);
    this.pos = 0;
    return out;
  }

  private statementEnded(): string {
    const words = this.words;
    const body = this.text.slice(this.start, this.pos);
    let out = this.text.slice(0, this.pos);
    if (this.flushed) {
      /* classified when it was flushed: an ordinary statement */
    } else if (this.options.stripOuterTransaction && !this.outerBegun) {
      if (words.length !== 1 || words[0] !== 'BEGIN')
        this.refuse(`its first statement is not the BEGIN that pg_restore --single-transaction writes, but: ${this.excerpt()}`);
      this.outerBegun = true;
      out = this.text.slice(0, this.start);
    } else if (this.outerCommitted) {
      this.refuse(`a statement follows after the end of its transaction: ${this.excerpt()}`);
    } else if (this.options.stripOuterTransaction && words.length === 1 && words[0] === 'COMMIT') {
      this.outerCommitted = true;
      out = this.text.slice(0, this.start);
    } else {
      const why = forbiddenStatement(words, body);
      if (why) this.refuse(`${why}: ${this.excerpt()}`);
    }
    if (words[0] === 'SET' && words[1] === 'STANDARD_CONFORMING_STRINGS') this.standardStrings = !/\b(off|false)\b/i.test(body);
    if (words[0] === 'COPY' && words.some((w, i) => w === 'FROM' && words[i + 1] === 'STDIN')) this.copyData = 'rest-of-line';
    this.text = this.text.slice(this.pos);
    this.pos = 0;
    this.start = -1;
    this.flushed = false;
    this.words = [];
    this.identCount = 0;
    this.parenDepth = 0;
    this.beginDepth = 0;
    return out;
  }
}

/** Passes a script through a ScriptGuard. */
export async function* guardScript(source: AsyncIterable<Buffer> | Iterable<Buffer>, options: GuardOptions): AsyncGenerator<Buffer> {
  const guard = new ScriptGuard(options);
  for await (const chunk of source) for (const out of guard.push(chunk)) if (out.length) yield out;
  for (const out of guard.end()) if (out.length) yield out;
}
