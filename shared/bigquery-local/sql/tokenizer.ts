/**
 * The BigQuery SQL tokenizer: string literals (quoted, triple-quoted, raw), backquoted identifiers,
 * comments (--, # and block comments), numbers, @named and ? parameters, operators. parse.ts uses it to find
 * the few forms sql-parser-cst rejects outside strings and comments; whitespace and comments are tokens too.
 */
import { UnsupportedLocallyError } from '../errors';

export type TokenKind = 'ws' | 'comment' | 'string' | 'ident' | 'qident' | 'number' | 'param' | 'op';

export interface Token {
  kind: TokenKind;
  /** Text as it appears in the BigQuery source. */
  text: string;
  /** string: the decoded value; ident: the word; qident: the backquoted text; param: the name ('' for ?). */
  value: string;
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const ch = sql[i];
    const start = i;
    if (/\s/.test(ch)) {
      while (i < n && /\s/.test(sql[i])) i++;
      tokens.push({ kind: 'ws', text: sql.slice(start, i), value: '' });
    } else if ((ch === '-' && sql[i + 1] === '-') || ch === '#') {
      while (i < n && sql[i] !== '\n') i++;
      tokens.push({ kind: 'comment', text: sql.slice(start, i), value: sql.slice(start + (ch === '#' ? 1 : 2), i) });
    } else if (ch === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw new SyntaxError('unterminated /* comment');
      i = end + 2;
      tokens.push({ kind: 'comment', text: sql.slice(start, i), value: '' });
    } else if (ch === '`') {
      const end = sql.indexOf('`', i + 1);
      if (end < 0) throw new SyntaxError('unterminated backquoted identifier');
      i = end + 1;
      tokens.push({ kind: 'qident', text: sql.slice(start, i), value: sql.slice(start + 1, end) });
    } else if (ch === "'" || ch === '"' || (/[rRbB]/.test(ch) && isStringPrefix(sql, i))) {
      // b'...' (BYTES) is a string token here too: the parser decodes it, this pass only needs its extent.
      let raw = false;
      while (sql[i] !== "'" && sql[i] !== '"') {
        if (/[rR]/.test(sql[i])) raw = true;
        i++;
      }
      const quote = sql[i];
      const triple = sql.startsWith(quote.repeat(3), i);
      const delim = triple ? quote.repeat(3) : quote;
      i += delim.length;
      let value = '';
      for (;;) {
        if (i >= n) throw new SyntaxError('unterminated string literal');
        if (sql.startsWith(delim, i)) {
          i += delim.length;
          break;
        }
        const c = sql[i];
        if (c === '\\' && !raw) {
          const [decoded, length] = unescape(sql, i);
          value += decoded;
          i += length;
        } else if (c === '\\' && raw) {
          // r'\'' still ends at the escaped quote's partner: a backslash escapes the next character.
          value += sql.slice(i, i + 2);
          i += 2;
        } else {
          if (!triple && c === '\n') throw new SyntaxError('newline in a string literal (use triple quotes)');
          value += c;
          i++;
        }
      }
      tokens.push({ kind: 'string', text: sql.slice(start, i), value });
    } else if (/[0-9]/.test(ch) || (ch === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      if (ch === '0' && /[xX]/.test(sql[i + 1] ?? '')) {
        i += 2;
        while (i < n && /[0-9A-Fa-f]/.test(sql[i])) i++;
        tokens.push({ kind: 'number', text: sql.slice(start, i), value: BigInt(sql.slice(start, i)).toString() });
        continue;
      }
      while (i < n && /[0-9.]/.test(sql[i])) i++;
      if (/[eE]/.test(sql[i] ?? '') && /[-+0-9]/.test(sql[i + 1] ?? '')) {
        i += 2;
        while (i < n && /[0-9]/.test(sql[i])) i++;
      }
      tokens.push({ kind: 'number', text: sql.slice(start, i), value: sql.slice(start, i) });
    } else if (IDENT_START.test(ch)) {
      while (i < n && IDENT_PART.test(sql[i])) i++;
      tokens.push({ kind: 'ident', text: sql.slice(start, i), value: sql.slice(start, i) });
    } else if (ch === '@') {
      if (sql[i + 1] === '@') throw new UnsupportedLocallyError('system variables (@@...)');
      i++;
      while (i < n && IDENT_PART.test(sql[i])) i++;
      tokens.push({ kind: 'param', text: sql.slice(start, i), value: sql.slice(start + 1, i) });
    } else if (ch === '?') {
      i++;
      tokens.push({ kind: 'param', text: '?', value: '' });
    } else {
      const two = sql.slice(i, i + 2);
      i += ['<=', '>=', '<>', '!=', '||', '<<', '>>', '=>'].includes(two) ? 2 : 1;
      tokens.push({ kind: 'op', text: sql.slice(start, i), value: sql.slice(start, i) });
    }
  }
  return tokens;
}

function isStringPrefix(sql: string, i: number): boolean {
  const m = /^([rR][bB]?|[bB][rR]?)(['"])/.exec(sql.slice(i, i + 3));
  return !!m && (i === 0 || !IDENT_PART.test(sql[i - 1]));
}

const SIMPLE_ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  b: '\b',
  f: '\f',
  v: '\v',
  a: '\x07',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '`': '`',
  '?': '?',
};

function unescape(sql: string, i: number): [string, number] {
  const c = sql[i + 1];
  if (c in SIMPLE_ESCAPES) return [SIMPLE_ESCAPES[c], 2];
  if (c === 'x' || c === 'X') return [String.fromCharCode(parseInt(sql.slice(i + 2, i + 4), 16)), 4];
  if (c === 'u') return [String.fromCodePoint(parseInt(sql.slice(i + 2, i + 6), 16)), 6];
  if (c === 'U') return [String.fromCodePoint(parseInt(sql.slice(i + 2, i + 10), 16)), 10];
  if (/[0-7]/.test(c)) return [String.fromCharCode(parseInt(sql.slice(i + 1, i + 4), 8)), 4];
  throw new SyntaxError(`illegal escape sequence \\${c}`);
}
