/**
 * BigQuery (GoogleSQL) -> DuckDB translation for the local BigQuery endpoint.
 *
 * Deliberately small and explicit: a tokenizer that understands BigQuery's string literals,
 * backquoted identifiers and comments, then a walk over the tokens that rewrites
 *  - table paths: `project.dataset.table` / dataset.table -> "dataset"."table" (datasets are DuckDB schemas);
 *  - the functions in FUNCTIONS below (TIMESTAMP_TRUNC, TIMESTAMP_DIFF, COUNTIF, JSON_VALUE, SAFE_CAST ...);
 *  - type names inside CAST / SAFE_CAST and typed literals (TIMESTAMP '...' -> TIMESTAMPTZ '...');
 *  - small syntax differences (SELECT * EXCEPT (...) -> EXCLUDE, UNION DISTINCT -> UNION, # comments,
 *    "double-quoted strings", r'raw strings', @named parameters -> $named).
 * Everything else is passed through: DuckDB shares most of the syntax (QUALIFY, window functions, CTEs,
 * COALESCE, APPROX_COUNT_DISTINCT ...). Constructs known not to work locally throw UnsupportedLocallyError
 * with a message starting "unsupported locally:"; the server reports DuckDB failures the same way.
 */

export class UnsupportedLocallyError extends Error {
  override readonly name = 'UnsupportedLocallyError';
  constructor(detail: string) {
    super(`unsupported locally: ${detail}`);
  }
}

type TokenKind = 'ws' | 'comment' | 'string' | 'ident' | 'qident' | 'number' | 'param' | 'op';

interface Token {
  kind: TokenKind;
  /** Text as it appears in the BigQuery source. */
  text: string;
  /** string: the decoded value; ident: the word; qident: the backquoted text; param: the name ('' for ?). */
  value: string;
}

// ---------------------------------------------------------------------------------------------
// Tokenizer

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
      let raw = false;
      let bytes = false;
      while (sql[i] !== "'" && sql[i] !== '"') {
        if (/[rR]/.test(sql[i])) raw = true;
        else bytes = true;
        i++;
      }
      if (bytes) throw new UnsupportedLocallyError('BYTES literals (b\'...\')');
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

const SIMPLE_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', a: '\x07', '\\': '\\', "'": "'", '"': '"', '`': '`', '?': '?' };

function unescape(sql: string, i: number): [string, number] {
  const c = sql[i + 1];
  if (c in SIMPLE_ESCAPES) return [SIMPLE_ESCAPES[c], 2];
  if (c === 'x' || c === 'X') return [String.fromCharCode(parseInt(sql.slice(i + 2, i + 4), 16)), 4];
  if (c === 'u') return [String.fromCodePoint(parseInt(sql.slice(i + 2, i + 6), 16)), 6];
  if (c === 'U') return [String.fromCodePoint(parseInt(sql.slice(i + 2, i + 10), 16)), 10];
  if (/[0-7]/.test(c)) return [String.fromCharCode(parseInt(sql.slice(i + 1, i + 4), 8)), 4];
  throw new SyntaxError(`illegal escape sequence \\${c}`);
}

// ---------------------------------------------------------------------------------------------
// Output helpers

export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
export const quoteString = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** BigQuery type name (as written in CAST or a schema) -> DuckDB type. */
export function duckTypeOf(bigQueryType: string): string {
  const t = bigQueryType.trim().toUpperCase().replace(/\s*\(.*\)$/, '');
  switch (t) {
    case 'INT64':
    case 'INTEGER':
    case 'INT':
    case 'SMALLINT':
    case 'BIGINT':
    case 'TINYINT':
    case 'BYTEINT':
      return 'BIGINT';
    case 'FLOAT64':
    case 'FLOAT':
      return 'DOUBLE';
    case 'NUMERIC':
    case 'DECIMAL':
      return 'DECIMAL(38,9)';
    case 'BOOL':
    case 'BOOLEAN':
      return 'BOOLEAN';
    case 'STRING':
      return 'VARCHAR';
    case 'BYTES':
      return 'BLOB';
    case 'DATE':
      return 'DATE';
    case 'DATETIME':
      return 'TIMESTAMP';
    case 'TIMESTAMP':
      return 'TIMESTAMPTZ';
    case 'TIME':
      return 'TIME';
    case 'JSON':
      return 'JSON';
    default:
      throw new UnsupportedLocallyError(`type ${bigQueryType.trim()}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Translation

export interface TranslateOptions {
  /** Called for every table path, e.g. to check the dataset exists. */
  onTable?: (dataset: string | undefined, table: string) => void;
}

export interface Translation {
  sql: string;
  /** Named parameters (@name) in order of first use; positional ones are '?'. */
  parameters: string[];
}

/** Translates one BigQuery query (SELECT or WITH ...) to DuckDB SQL. */
export function translateQuery(bigQuerySql: string, options: TranslateOptions = {}): Translation {
  const tokens = tokenize(bigQuerySql);
  const sig = tokens.filter((t) => t.kind !== 'ws' && t.kind !== 'comment');
  // One statement: a trailing semicolon is fine, a second statement is scripting.
  const semicolon = sig.findIndex((t) => t.kind === 'op' && t.value === ';');
  if (semicolon >= 0 && semicolon < sig.length - 1) throw new UnsupportedLocallyError('multi-statement queries (scripting)');
  const first = sig.find((t) => !(t.kind === 'op' && t.value === '('));
  const keyword = first?.kind === 'ident' ? first.value.toUpperCase() : '';
  if (keyword !== 'SELECT' && keyword !== 'WITH') {
    throw new UnsupportedLocallyError(`${keyword || 'this'} statements (only queries, SELECT or WITH ..., run on the local endpoint)`);
  }
  const translator = new Translator(tokens, options);
  return { sql: translator.emit(0, tokens.length).trim().replace(/;\s*$/, ''), parameters: translator.parameters };
}

interface Arg {
  /** Translated DuckDB text. */
  sql: string;
  /** Significant source tokens of the argument. */
  tokens: Token[];
  /** Translates significant tokens [from, to) of the argument alone. */
  emit: (from: number, to: number) => string;
}

type Handler = (args: Arg[], name: string) => string;

const TABLE_KEYWORDS = new Set(['FROM', 'JOIN']);
/** Keywords that end a FROM clause (ON and USING do not: `FROM a JOIN b ON a.x = b.x, c` goes on). */
const CLAUSE_KEYWORDS = new Set(['SELECT', 'WHERE', 'GROUP', 'HAVING', 'QUALIFY', 'ORDER', 'LIMIT', 'WINDOW', 'UNION', 'EXCEPT', 'INTERSECT']);

class Translator {
  readonly parameters: string[] = [];

  /** Names defined by WITH name AS (...): unqualified references to them are not tables. */
  private readonly cteNames = new Set<string>();

  constructor(
    private readonly tokens: Token[],
    private readonly options: TranslateOptions,
  ) {
    const sig = tokens.filter((t) => t.kind !== 'ws' && t.kind !== 'comment');
    for (let k = 0; k + 2 < sig.length; k++) {
      if ((sig[k].kind === 'ident' || sig[k].kind === 'qident') && sig[k + 1].kind === 'ident' && sig[k + 1].value.toUpperCase() === 'AS' && sig[k + 2].value === '(') {
        this.cteNames.add(sig[k].value.toLowerCase());
      }
    }
  }

  /** Translates tokens[start, end). */
  emit(start: number, end: number): string {
    let out = '';
    // Per parenthesis depth: are we in a FROM clause (so that `a, b` lists tables)?
    const inFrom: boolean[] = [false];
    let i = start;
    while (i < end) {
      const t = this.tokens[i];
      const prev = this.prevSig(i, start);
      const upper = t.kind === 'ident' ? t.value.toUpperCase() : '';
      if (t.kind === 'ws') {
        out += t.text;
        i++;
      } else if (t.kind === 'comment') {
        out += t.text.startsWith('#') ? `--${t.value}` : t.text;
        i++;
      } else if (t.kind === 'string') {
        out += quoteString(t.value);
        i++;
      } else if (t.kind === 'number') {
        out += t.value;
        i++;
      } else if (t.kind === 'param') {
        if (t.value) {
          if (!this.parameters.includes(t.value)) this.parameters.push(t.value);
          out += `$${t.value}`;
        } else out += '?';
        i++;
      } else if (t.kind === 'op') {
        if (t.value === '(') inFrom.push(false);
        if (t.value === ')' && inFrom.length > 1) inFrom.pop();
        out += t.text;
        i++;
      } else if (t.kind === 'qident' || t.kind === 'ident') {
        const tableContext =
          (prev?.kind === 'ident' && TABLE_KEYWORDS.has(prev.value.toUpperCase())) || (prev?.kind === 'op' && prev.value === ',' && inFrom[inFrom.length - 1]);
        if (upper && CLAUSE_KEYWORDS.has(upper)) inFrom[inFrom.length - 1] = false;
        if (upper === 'FROM') inFrom[inFrom.length - 1] = true;
        if (tableContext && !(t.kind === 'ident' && this.isCall(i, end)) && !(t.kind === 'ident' && upper === 'UNNEST')) {
          const [text, next] = this.tablePath(i, end);
          out += text;
          i = next;
          continue;
        }
        if (t.kind === 'qident') {
          out += this.identPath(t.value);
          i++;
          continue;
        }
        const [text, next] = this.word(i, end, upper, prev);
        out += text;
        i = next;
      } else {
        out += t.text;
        i++;
      }
    }
    return out;
  }

  private prevSig(i: number, floor: number): Token | undefined {
    for (let j = i - 1; j >= floor; j--) if (this.tokens[j].kind !== 'ws' && this.tokens[j].kind !== 'comment') return this.tokens[j];
    return undefined;
  }

  private nextSigIndex(i: number, end: number): number {
    for (let j = i; j < end; j++) if (this.tokens[j].kind !== 'ws' && this.tokens[j].kind !== 'comment') return j;
    return end;
  }

  private isCall(i: number, end: number): boolean {
    const j = this.nextSigIndex(i + 1, end);
    return j < end && this.tokens[j].kind === 'op' && this.tokens[j].value === '(';
  }

  /** A backquoted path outside FROM: `t`.`col` or `d.t` (a 3-part path drops the project). */
  private identPath(text: string): string {
    if (text.includes('*')) throw new UnsupportedLocallyError('wildcard tables');
    const parts = text.split('.');
    if (parts.some((p) => p.toUpperCase() === 'INFORMATION_SCHEMA')) throw new UnsupportedLocallyError('INFORMATION_SCHEMA views');
    return (parts.length >= 3 ? parts.slice(1) : parts).map(quoteIdent).join('.');
  }

  /** A table path after FROM / JOIN / a comma in FROM: project.dataset.table in any quoting. */
  private tablePath(i: number, end: number): [string, number] {
    // Adjacent identifiers, dots and dashes (unquoted project ids may contain dashes: my-project.dataset.table).
    let j = i;
    let text = '';
    while (j < end) {
      const t = this.tokens[j];
      if (t.kind === 'qident') text += t.value;
      else if (t.kind === 'ident' || t.kind === 'number') text += t.text;
      else if (t.kind === 'op' && (t.value === '.' || t.value === '-') && j + 1 < end && ['ident', 'qident', 'number'].includes(this.tokens[j + 1].kind)) text += t.value;
      else if (t.kind === 'op' && t.value === '*') throw new UnsupportedLocallyError('wildcard tables');
      else break;
      j++;
    }
    if (text.includes('*')) throw new UnsupportedLocallyError('wildcard tables');
    const parts = text.split('.');
    if (parts.some((p) => p.toUpperCase() === 'INFORMATION_SCHEMA')) throw new UnsupportedLocallyError('INFORMATION_SCHEMA views');
    if (parts.length > 3 || parts.some((p) => !p)) throw new UnsupportedLocallyError(`table path ${text}`);
    const table = parts[parts.length - 1];
    const dataset = parts.length >= 2 ? parts[parts.length - 2] : undefined;
    if (dataset !== undefined || !this.cteNames.has(table.toLowerCase())) this.options.onTable?.(dataset, table);
    const next = this.tokens[this.nextSigIndex(j, end)];
    if (next?.kind === 'ident' && next.value.toUpperCase() === 'FOR') throw new UnsupportedLocallyError('FOR SYSTEM_TIME AS OF (time travel)');
    return [(dataset ? [dataset, table] : [table]).map(quoteIdent).join('.'), j];
  }

  /** An unquoted word: function call, keyword with a BigQuery twist, or a plain identifier. */
  private word(i: number, end: number, upper: string, prev: Token | undefined): [string, number] {
    const t = this.tokens[i];
    const nextIndex = this.nextSigIndex(i + 1, end);
    const next = this.tokens[nextIndex];
    const afterDot = prev?.kind === 'op' && prev.value === '.';
    if (!afterDot && next?.kind === 'op' && next.value === '.' && ['SAFE', 'ML', 'NET', 'HLL_COUNT', 'KEYS', 'AEAD', 'DETERMINISTIC_ENCRYPT'].includes(upper)) {
      // SAFE.FN( ... ), not an alias that happens to be called `keys` (keys.id).
      const fnIndex = this.nextSigIndex(nextIndex + 1, end);
      const fn = this.tokens[fnIndex];
      const open = this.tokens[this.nextSigIndex(fnIndex + 1, end)];
      if (fn?.kind === 'ident' && open?.kind === 'op' && open.value === '(') throw new UnsupportedLocallyError(`${upper}.${fn.value} functions`);
    }
    if (upper === 'EXCEPT' && prev?.kind === 'op' && prev.value === '*' && next?.kind === 'op' && next.value === '(') return ['EXCLUDE', i + 1];
    if (!afterDot && next?.kind === 'op' && next.value === '(') {
      if (upper === 'EXTRACT') return this.extract(nextIndex, end);
      if (upper === 'CAST' || upper === 'SAFE_CAST') return this.cast(nextIndex, end, upper === 'SAFE_CAST' ? 'TRY_CAST' : 'CAST');
      const handler = FUNCTIONS[upper];
      if (handler) {
        const [args, close] = this.args(nextIndex, end);
        return [handler(args, upper), close + 1];
      }
      if (UNSUPPORTED_FUNCTIONS.has(upper) || upper.startsWith('ST_')) throw new UnsupportedLocallyError(`function ${upper}`);
      return [t.text, i + 1];
    }
    if (afterDot) return [t.text, i + 1];
    // Typed literals: TIMESTAMP '2024-01-01 00:00:00+00' ...
    if (next?.kind === 'string' && TYPED_LITERALS[upper]) return [`CAST(${quoteString(next.value)} AS ${TYPED_LITERALS[upper]})`, nextIndex + 1];
    if ((upper === 'UNION' || upper === 'EXCEPT' || upper === 'INTERSECT') && next?.kind === 'ident' && next.value.toUpperCase() === 'DISTINCT') return [t.text, nextIndex + 1];
    if (upper === '_PARTITIONTIME' || upper === '_PARTITIONDATE' || upper === '_TABLE_SUFFIX') throw new UnsupportedLocallyError(`pseudo-column ${upper}`);
    if (upper === 'TABLESAMPLE') throw new UnsupportedLocallyError('TABLESAMPLE');
    if (upper === 'PIVOT' || upper === 'UNPIVOT') throw new UnsupportedLocallyError(upper);
    return [t.text, i + 1];
  }

  /** Splits the parenthesised argument list starting at `open`; returns the args and the index of ')'. */
  private args(open: number, end: number): [Arg[], number] {
    const args: Arg[] = [];
    let depth = 0;
    let argStart = open + 1;
    for (let j = open; j < end; j++) {
      const t = this.tokens[j];
      if (t.kind !== 'op') continue;
      if (t.value === '(' || t.value === '[') depth++;
      else if (t.value === ')' || t.value === ']') {
        depth--;
        if (depth === 0) {
          const last = this.arg(argStart, j);
          if (last.tokens.length || args.length) args.push(last);
          return [args, j];
        }
      } else if (t.value === ',' && depth === 1) {
        args.push(this.arg(argStart, j));
        argStart = j + 1;
      }
    }
    throw new SyntaxError('unbalanced parentheses');
  }

  /** Index of the ')' matching the '(' at `open`. */
  private closing(open: number, end: number): number {
    let depth = 0;
    for (let j = open; j < end; j++) {
      const t = this.tokens[j];
      if (t.kind === 'op' && (t.value === '(' || t.value === '[')) depth++;
      else if (t.kind === 'op' && (t.value === ')' || t.value === ']') && --depth === 0) return j;
    }
    throw new SyntaxError('unbalanced parentheses');
  }

  private arg(start: number, end: number): Arg {
    const indexes: number[] = [];
    for (let k = start; k < end; k++) if (this.tokens[k].kind !== 'ws' && this.tokens[k].kind !== 'comment') indexes.push(k);
    return {
      sql: this.emit(start, end).trim(),
      tokens: indexes.map((k) => this.tokens[k]),
      emit: (from, to) => (from >= to ? '' : this.emit(indexes[from], indexes[to - 1] + 1).trim()),
    };
  }

  /** CAST(x AS type) / SAFE_CAST(x AS type) with BigQuery type names. */
  private cast(open: number, end: number, fn: string): [string, number] {
    const close = this.closing(open, end);
    // Find the last top-level AS.
    let depth = 0;
    let asAt = -1;
    for (let j = open + 1; j < close; j++) {
      const t = this.tokens[j];
      if (t.kind === 'op' && (t.value === '(' || t.value === '[')) depth++;
      else if (t.kind === 'op' && (t.value === ')' || t.value === ']')) depth--;
      else if (depth === 0 && t.kind === 'ident' && t.value.toUpperCase() === 'AS') asAt = j;
    }
    if (asAt < 0) throw new SyntaxError(`${fn} needs AS <type>`);
    const typeTokens = this.tokens.slice(asAt + 1, close).filter((t) => t.kind !== 'ws' && t.kind !== 'comment');
    if (typeTokens.some((t) => t.kind === 'ident' && t.value.toUpperCase() === 'FORMAT')) throw new UnsupportedLocallyError('CAST ... FORMAT');
    const typeText = typeTokens.map((t) => t.text).join('');
    if (/[<>]/.test(typeText)) throw new UnsupportedLocallyError(`CAST to ${typeText}`);
    return [`${fn}(${this.emit(open + 1, asAt).trim()} AS ${duckTypeOf(typeText)})`, close + 1];
  }

  /** EXTRACT(part FROM x) with BigQuery's part semantics. */
  private extract(open: number, end: number): [string, number] {
    const close = this.closing(open, end);
    let fromAt = -1;
    for (let j = open + 1; j < close; j++) {
      const t = this.tokens[j];
      if (t.kind === 'ident' && t.value.toUpperCase() === 'FROM') {
        fromAt = j;
        break;
      }
    }
    if (fromAt < 0) throw new SyntaxError('EXTRACT needs <part> FROM <expression>');
    const partTokens = this.tokens.slice(open + 1, fromAt).filter((t) => t.kind !== 'ws' && t.kind !== 'comment');
    const part = partTokens.map((t) => t.value.toUpperCase()).join('');
    const exprTokens = this.tokens.slice(fromAt + 1, close);
    if (exprTokens.some((t) => t.kind === 'ident' && t.value.toUpperCase() === 'AT')) throw new UnsupportedLocallyError('EXTRACT ... AT TIME ZONE');
    const x = this.emit(fromAt + 1, close).trim();
    const simple: Record<string, string> = { YEAR: 'year', MONTH: 'month', DAY: 'day', HOUR: 'hour', MINUTE: 'minute', SECOND: 'second', QUARTER: 'quarter', DAYOFYEAR: 'doy' };
    let sql: string;
    if (simple[part]) sql = `extract(${simple[part]} FROM ${x})`;
    else if (part === 'DAYOFWEEK') sql = `(dayofweek(${x}) + 1)`;
    else if (part === 'ISOWEEK') sql = `week(${x})`;
    else if (part === 'ISOYEAR') sql = `isoyear(${x})`;
    else if (part === 'MILLISECOND') sql = `(millisecond(${x}) % 1000)`;
    else if (part === 'MICROSECOND') sql = `(microsecond(${x}) % 1000000)`;
    else if (part === 'DATE') sql = `CAST(${x} AS DATE)`;
    else throw new UnsupportedLocallyError(`EXTRACT(${part} FROM ...)`);
    return [sql, close + 1];
  }
}

const TYPED_LITERALS: Record<string, string> = { TIMESTAMP: 'TIMESTAMPTZ', DATETIME: 'TIMESTAMP', DATE: 'DATE', TIME: 'TIME', NUMERIC: 'DECIMAL(38,9)', JSON: 'JSON' };

/** Known BigQuery functions with no local equivalent: a clear error beats a confusing DuckDB one. */
const UNSUPPORTED_FUNCTIONS = new Set([
  'APPROX_QUANTILES',
  'APPROX_TOP_COUNT',
  'APPROX_TOP_SUM',
  'SESSION_USER',
  'FARM_FINGERPRINT',
  'GENERATE_ARRAY',
  'GENERATE_DATE_ARRAY',
  'GENERATE_TIMESTAMP_ARRAY',
  'ARRAY_CONCAT_AGG',
  'NORMALIZE',
  'NORMALIZE_AND_CASEFOLD',
  'JSON_EXTRACT_ARRAY',
  'JSON_QUERY_ARRAY',
  'JSON_VALUE_ARRAY',
  'JSON_EXTRACT_STRING_ARRAY',
  'JSON_SET',
  'JSON_REMOVE',
  'JSON_STRIP_NULLS',
  'TO_JSON',
  'RANGE',
  'DATETIME_BUCKET',
  'TIMESTAMP_BUCKET',
  'DATE_BUCKET',
  'GAP_FILL',
]);

// ---------------------------------------------------------------------------------------------
// Functions

const DATE_PARTS: Record<string, string> = {
  MICROSECOND: 'microsecond',
  MILLISECOND: 'millisecond',
  SECOND: 'second',
  MINUTE: 'minute',
  HOUR: 'hour',
  DAY: 'day',
  WEEK: 'week',
  ISOWEEK: 'week',
  MONTH: 'month',
  QUARTER: 'quarter',
  YEAR: 'year',
};

/** The date part argument as written: HOUR, WEEK(MONDAY) ... */
function partOf(arg: Arg | undefined, fn: string): string {
  const text = (arg?.tokens ?? []).map((t) => t.value.toUpperCase()).join('');
  if (!/^[A-Z_]+(\([A-Z]+\))?$/.test(text)) throw new SyntaxError(`${fn}: expected a date part such as HOUR, got ${text || 'nothing'}`);
  return text;
}

function arity(args: Arg[], fn: string, min: number, max = min): void {
  if (args.length < min || args.length > max) throw new SyntaxError(`${fn} takes ${min === max ? min : `${min} to ${max}`} arguments, got ${args.length}`);
}

/** TIMESTAMP_TRUNC / DATETIME_TRUNC / DATE_TRUNC. */
function trunc(args: Arg[], fn: string): string {
  arity(args, fn, 2, 3);
  if (args.length === 3) throw new UnsupportedLocallyError(`${fn} with a time zone argument (times are UTC locally)`);
  const part = partOf(args[1], fn);
  const x = args[0].sql;
  let sql: string;
  if (part === 'WEEK' || part === 'WEEK(SUNDAY)') sql = `(date_trunc('week', ${x} + INTERVAL 1 DAY) - INTERVAL 1 DAY)`;
  else if (part === 'WEEK(MONDAY)' || part === 'ISOWEEK') sql = `date_trunc('week', ${x})`;
  else if (DATE_PARTS[part]) sql = `date_trunc('${DATE_PARTS[part]}', ${x})`;
  else throw new UnsupportedLocallyError(`${fn}(..., ${part})`);
  return fn === 'DATE_TRUNC' ? `CAST(${sql} AS DATE)` : sql;
}

/** TIMESTAMP_DIFF(a, b, part): whole parts between b and a (truncated), like DuckDB's date_sub. */
function diff(args: Arg[], fn: string): string {
  arity(args, fn, 3);
  const part = partOf(args[2], fn);
  const mapped = part === 'WEEK' ? undefined : DATE_PARTS[part];
  if (!mapped || (fn !== 'DATE_DIFF' && ['week', 'month', 'quarter', 'year'].includes(mapped))) throw new UnsupportedLocallyError(`${fn}(..., ${part})`);
  // DATE_DIFF counts boundaries crossed (date_diff); TIMESTAMP_DIFF counts whole elapsed parts (date_sub).
  return `${fn === 'DATE_DIFF' ? 'date_diff' : 'date_sub'}('${mapped}', ${args[1].sql}, ${args[0].sql})`;
}

/** TIMESTAMP_ADD(x, INTERVAL n part) and friends. */
function addInterval(sign: '+' | '-'): Handler {
  return (args, fn) => {
    arity(args, fn, 2);
    const tokens = args[1].tokens;
    if (tokens[0]?.kind !== 'ident' || tokens[0].value.toUpperCase() !== 'INTERVAL' || tokens.length < 3) throw new SyntaxError(`${fn}: expected INTERVAL <n> <part>`);
    const part = tokens[tokens.length - 1].value.toUpperCase();
    if (!DATE_PARTS[part] || part === 'ISOWEEK') throw new UnsupportedLocallyError(`${fn}(..., INTERVAL ... ${part})`);
    // INTERVAL (<amount>) <part> accepts any expression in DuckDB.
    const amount = args[1].emit(1, tokens.length - 1);
    const sql = `(${args[0].sql} ${sign} INTERVAL (${amount}) ${DATE_PARTS[part].toUpperCase()})`;
    return fn.startsWith('DATE_') ? `CAST(${sql} AS DATE)` : sql;
  };
}

function renamed(to: string, min: number, max = min): Handler {
  return (args, fn) => {
    arity(args, fn, min, max);
    return `${to}(${args.map((a) => a.sql).join(', ')})`;
  };
}

/** JSON_VALUE returns NULL for objects and arrays; json_extract_string would return their text. */
function jsonValue(args: Arg[], fn: string): string {
  arity(args, fn, 1, 2);
  const path = args[1]?.sql ?? "'$'";
  const x = args[0].sql;
  return `(CASE WHEN json_type(${x}, ${path}) IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(${x}, ${path}) END)`;
}

function regexpExtract(args: Arg[], fn: string): string {
  arity(args, fn, 2);
  const pattern = args[1].tokens.length === 1 && args[1].tokens[0].kind === 'string' ? args[1].tokens[0].value : undefined;
  if (pattern === undefined) throw new UnsupportedLocallyError(`${fn} with a pattern that is not a string literal`);
  // BigQuery returns the capturing group if there is one, else the whole match.
  const group = /(^|[^\\])\((?!\?)/.test(pattern) ? 1 : 0;
  return `regexp_extract(${args[0].sql}, ${args[1].sql}, ${group})`;
}

/** STRUCT(x AS a, y AS b) -> struct_pack(a := x, b := y); every field needs a name locally. */
function struct(args: Arg[], fn: string): string {
  const fields = args.map((arg) => {
    let depth = 0;
    let as = -1;
    arg.tokens.forEach((t, k) => {
      if (t.kind === 'op' && (t.value === '(' || t.value === '[')) depth++;
      else if (t.kind === 'op' && (t.value === ')' || t.value === ']')) depth--;
      else if (depth === 0 && t.kind === 'ident' && t.value.toUpperCase() === 'AS') as = k;
    });
    const name = arg.tokens[as + 1];
    if (as < 0 || as !== arg.tokens.length - 2 || (name.kind !== 'ident' && name.kind !== 'qident')) throw new UnsupportedLocallyError(`${fn}(...) fields without a name (write STRUCT(x AS name))`);
    return `${quoteIdent(name.value)} := ${arg.emit(0, as)}`;
  });
  return `struct_pack(${fields.join(', ')})`;
}

const FUNCTIONS: Record<string, Handler> = {
  STRUCT: struct,
  TIMESTAMP_TRUNC: trunc,
  DATETIME_TRUNC: trunc,
  DATE_TRUNC: trunc,
  TIMESTAMP_DIFF: diff,
  DATETIME_DIFF: diff,
  DATE_DIFF: diff,
  TIMESTAMP_ADD: addInterval('+'),
  TIMESTAMP_SUB: addInterval('-'),
  DATETIME_ADD: addInterval('+'),
  DATETIME_SUB: addInterval('-'),
  DATE_ADD: addInterval('+'),
  DATE_SUB: addInterval('-'),
  DATE: (args, fn) => {
    arity(args, fn, 1, 3);
    if (args.length === 3) return `make_date(${args.map((a) => a.sql).join(', ')})`;
    if (args.length === 2) throw new UnsupportedLocallyError('DATE(timestamp, time_zone) (times are UTC locally)');
    return `CAST(${args[0].sql} AS DATE)`;
  },
  TIMESTAMP: (args, fn) => {
    arity(args, fn, 1, 2);
    if (args.length === 2) throw new UnsupportedLocallyError('TIMESTAMP(x, time_zone) (times are UTC locally)');
    return `CAST(${args[0].sql} AS TIMESTAMPTZ)`;
  },
  DATETIME: (args, fn) => {
    arity(args, fn, 1);
    return `CAST(${args[0].sql} AS TIMESTAMP)`;
  },
  CURRENT_TIMESTAMP: (args, fn) => (arity(args, fn, 0), 'now()'),
  CURRENT_DATETIME: (args, fn) => (arity(args, fn, 0), 'CAST(now() AS TIMESTAMP)'),
  CURRENT_DATE: (args, fn) => (arity(args, fn, 0), 'current_date'),
  TIMESTAMP_SECONDS: (args, fn) => (arity(args, fn, 1), `to_timestamp(${args[0].sql})`),
  TIMESTAMP_MILLIS: (args, fn) => (arity(args, fn, 1), `CAST(epoch_ms(${args[0].sql}) AS TIMESTAMPTZ)`),
  TIMESTAMP_MICROS: (args, fn) => (arity(args, fn, 1), `CAST(make_timestamp(${args[0].sql}) AS TIMESTAMPTZ)`),
  UNIX_SECONDS: (args, fn) => (arity(args, fn, 1), `CAST(floor(epoch(${args[0].sql})) AS BIGINT)`),
  UNIX_MILLIS: (args, fn) => (arity(args, fn, 1), `epoch_ms(${args[0].sql})`),
  UNIX_MICROS: (args, fn) => (arity(args, fn, 1), `epoch_us(${args[0].sql})`),
  FORMAT_TIMESTAMP: (args, fn) => {
    arity(args, fn, 2, 3);
    if (args.length === 3) throw new UnsupportedLocallyError('FORMAT_TIMESTAMP with a time zone argument (times are UTC locally)');
    return `strftime(${args[1].sql}, ${args[0].sql})`;
  },
  FORMAT_DATE: (args, fn) => (arity(args, fn, 2), `strftime(${args[1].sql}, ${args[0].sql})`),
  FORMAT_DATETIME: (args, fn) => (arity(args, fn, 2), `strftime(${args[1].sql}, ${args[0].sql})`),
  PARSE_TIMESTAMP: (args, fn) => {
    arity(args, fn, 2, 3);
    if (args.length === 3) throw new UnsupportedLocallyError('PARSE_TIMESTAMP with a time zone argument (times are UTC locally)');
    return `CAST(strptime(${args[1].sql}, ${args[0].sql}) AS TIMESTAMPTZ)`;
  },
  PARSE_DATE: (args, fn) => (arity(args, fn, 2), `CAST(strptime(${args[1].sql}, ${args[0].sql}) AS DATE)`),
  // COUNTIF counts TRUE; DuckDB's count_if returns NULL when every input is NULL, so count a CASE.
  COUNTIF: (args, fn) => (arity(args, fn, 1), `count(CASE WHEN ${args[0].sql} THEN 1 END)`),
  LOGICAL_AND: renamed('bool_and', 1),
  LOGICAL_OR: renamed('bool_or', 1),
  IF: (args, fn) => (arity(args, fn, 3), `(CASE WHEN ${args[0].sql} THEN ${args[1].sql} ELSE ${args[2].sql} END)`),
  IFNULL: renamed('coalesce', 2),
  SAFE_DIVIDE: (args, fn) => (arity(args, fn, 2), `(CASE WHEN ${args[1].sql} = 0 THEN NULL ELSE ${args[0].sql} / ${args[1].sql} END)`),
  DIV: (args, fn) => (arity(args, fn, 2), `(${args[0].sql} // ${args[1].sql})`),
  JSON_VALUE: jsonValue,
  JSON_EXTRACT_SCALAR: jsonValue,
  JSON_QUERY: (args, fn) => (arity(args, fn, 2), `json_extract(${args[0].sql}, ${args[1].sql})`),
  JSON_EXTRACT: (args, fn) => (arity(args, fn, 2), `json_extract(${args[0].sql}, ${args[1].sql})`),
  PARSE_JSON: (args, fn) => (arity(args, fn, 1), `CAST(${args[0].sql} AS JSON)`),
  TO_JSON_STRING: (args, fn) => (arity(args, fn, 1), `CAST(to_json(${args[0].sql}) AS VARCHAR)`),
  REGEXP_CONTAINS: renamed('regexp_matches', 2),
  REGEXP_EXTRACT: regexpExtract,
  REGEXP_REPLACE: (args, fn) => (arity(args, fn, 3), `regexp_replace(${args[0].sql}, ${args[1].sql}, ${args[2].sql}, 'g')`),
  SPLIT: (args, fn) => (arity(args, fn, 1, 2), `str_split(${args[0].sql}, ${args[1]?.sql ?? "','"})`),
  ARRAY_LENGTH: renamed('len', 1),
  GENERATE_UUID: (args, fn) => (arity(args, fn, 0), 'CAST(gen_random_uuid() AS VARCHAR)'),
  APPROX_COUNT_DISTINCT: renamed('approx_count_distinct', 1),
};

/** The BigQuery functions the translator rewrites (documented in docs/analysts.md). */
export const TRANSLATED_FUNCTIONS = Object.keys(FUNCTIONS).concat(['CAST', 'SAFE_CAST', 'EXTRACT']).sort();
