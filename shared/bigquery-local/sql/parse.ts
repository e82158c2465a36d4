/**
 * Parsing BigQuery SQL with sql-parser-cst. Three BigQuery forms the parser (0.42) rejects are
 * lifted out of the text first and handed to the emitter by source offset: `NULLS FIRST|LAST` in
 * ORDER BY, `AT TIME ZONE 'tz'` inside EXTRACT, and REPLACE (...) right after `* EXCEPT (...)`.
 * They are blanked with spaces, so every node's range still points into the original text.
 */
import { parse as parseCst, type Program } from 'sql-parser-cst';
import { UnsupportedLocallyError } from '../errors';
import { tokenize, type Token } from './tokenizer';

export interface Parsed {
  program: Program;
  /** Offset where a sort key ends -> 'NULLS FIRST' / 'NULLS LAST'. */
  nulls: Map<number, string>;
  /** Offset where EXTRACT's expression ends -> the time zone literal (already a DuckDB string). */
  timeZones: Map<number, string>;
  /** Offset where `EXCEPT (...)` ends -> the REPLACE list's source text, `REPLACE (...)`. */
  replaces: Map<number, string>;
}

interface Located extends Token {
  start: number;
  end: number;
}

function located(sql: string): Located[] {
  let at = 0;
  const out: Located[] = [];
  for (const t of tokenize(sql)) {
    if (t.kind !== 'ws' && t.kind !== 'comment') out.push({ ...t, start: at, end: at + t.text.length });
    at += t.text.length;
  }
  return out;
}

const word = (t: Located | undefined, w: string) => t?.kind === 'ident' && t.value.toUpperCase() === w;

export function parseBigQuery(sql: string): Parsed {
  const tokens = located(sql);
  const nulls = new Map<number, string>();
  const timeZones = new Map<number, string>();
  const replaces = new Map<number, string>();
  const blanks: [number, number][] = [];
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (word(t, 'NULLS') && (word(tokens[k + 1], 'FIRST') || word(tokens[k + 1], 'LAST')) && k > 0) {
      nulls.set(tokens[k - 1].end, `NULLS ${tokens[k + 1].value.toUpperCase()}`);
      blanks.push([t.start, tokens[k + 1].end]);
    } else if (word(t, 'AT') && word(tokens[k + 1], 'TIME') && word(tokens[k + 2], 'ZONE') && tokens[k + 3] && k > 0) {
      const tz = tokens[k + 3];
      if (tz.kind !== 'string') throw new UnsupportedLocallyError('AT TIME ZONE with a time zone that is not a string literal');
      timeZones.set(tokens[k - 1].end, tz.value);
      blanks.push([t.start, tz.end]);
    } else if (word(t, 'REPLACE') && tokens[k + 1]?.value === '(' && tokens[k - 1]?.value === ')') {
      // `* EXCEPT (a) REPLACE (...)`: find the EXCEPT whose list ends right before.
      let j = k - 1;
      let d = 0;
      for (; j >= 0; j--) {
        if (tokens[j].value === ')') d++;
        if (tokens[j].value === '(' && --d === 0) break;
      }
      if (!word(tokens[j - 1], 'EXCEPT') || tokens[j - 2]?.value !== '*') continue;
      let e = k + 1;
      for (d = 0; e < tokens.length; e++) {
        if (tokens[e].value === '(') d++;
        if (tokens[e].value === ')' && --d === 0) break;
      }
      replaces.set(tokens[k - 1].end, sql.slice(t.start, tokens[e].end));
      blanks.push([t.start, tokens[e].end]);
    }
  }
  let text = sql;
  for (const [from, to] of blanks) text = text.slice(0, from) + ' '.repeat(to - from) + text.slice(to);
  const program = parseCst(text, { dialect: 'bigquery', paramTypes: ['@name', '?'], includeRange: true });
  return { program, nulls, timeZones, replaces };
}

/** Parses a lone expression's list (used for the lifted REPLACE list). */
export function parseReplaceList(source: string): any {
  const program = parseCst(`SELECT * ${source} FROM t`, { dialect: 'bigquery', paramTypes: ['@name', '?'], includeRange: true });
  const stmt = program.statements[0] as any;
  return stmt.clauses[0].columns.items[0];
}
