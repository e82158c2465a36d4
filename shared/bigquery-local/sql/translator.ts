/**
 * The walk over the tokens that writes DuckDB SQL: table paths, function calls (functions.ts),
 * CAST / SAFE_CAST and EXTRACT, typed literals and BigQuery's small syntax differences. Everything it
 * does not know is passed through as written.
 */
import { UnsupportedLocallyError } from '../errors';
import { duckTypeOf, quoteIdent, quoteString } from './duckdb';
import { FUNCTIONS, TYPED_LITERALS, UNSUPPORTED_FUNCTIONS, type Arg } from './functions';
import type { Token } from './tokenizer';

export interface TranslateOptions {
  /** Called for every table path, e.g. to check the dataset exists. */
  onTable?: (dataset: string | undefined, table: string) => void;
}

const TABLE_KEYWORDS = new Set(['FROM', 'JOIN']);
/** Keywords that end a FROM clause (ON and USING do not: `FROM a JOIN b ON a.x = b.x, c` goes on). */
const CLAUSE_KEYWORDS = new Set(['SELECT', 'WHERE', 'GROUP', 'HAVING', 'QUALIFY', 'ORDER', 'LIMIT', 'WINDOW', 'UNION', 'EXCEPT', 'INTERSECT']);

export class Translator {
  readonly parameters: string[] = [];

  /** Names defined by WITH name AS (...): unqualified references to them are not tables. */
  private readonly cteNames = new Set<string>();

  constructor(
    private readonly tokens: Token[],
    private readonly options: TranslateOptions,
  ) {
    const sig = tokens.filter((t) => t.kind !== 'ws' && t.kind !== 'comment');
    for (let k = 0; k + 2 < sig.length; k++) {
      if (
        (sig[k].kind === 'ident' || sig[k].kind === 'qident') &&
        sig[k + 1].kind === 'ident' &&
        sig[k + 1].value.toUpperCase() === 'AS' &&
        sig[k + 2].value === '('
      ) {
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
      else if (t.kind === 'op' && (t.value === '.' || t.value === '-') && j + 1 < end && ['ident', 'qident', 'number'].includes(this.tokens[j + 1].kind))
        text += t.value;
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
      // x IN UNNEST(array): DuckDB binds UNNEST only in a SELECT list, so x IN (SELECT UNNEST(array)).
      if (upper === 'UNNEST' && prev?.kind === 'ident' && prev.value.toUpperCase() === 'IN') {
        const [args, close] = this.args(nextIndex, end);
        return [`(SELECT UNNEST(${args.map((a) => a.sql).join(', ')}))`, close + 1];
      }
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
    if ((upper === 'UNION' || upper === 'EXCEPT' || upper === 'INTERSECT') && next?.kind === 'ident' && next.value.toUpperCase() === 'DISTINCT')
      return [t.text, nextIndex + 1];
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
    const simple: Record<string, string> = {
      YEAR: 'year',
      MONTH: 'month',
      DAY: 'day',
      HOUR: 'hour',
      MINUTE: 'minute',
      SECOND: 'second',
      QUARTER: 'quarter',
      DAYOFYEAR: 'doy',
    };
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
