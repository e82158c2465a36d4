/**
 * The documented analyst queries (docs/analyst-queries.sql, shown in docs/analysts.md), parsed so the
 * tests and `mesh query --example <name>` run exactly the documented text.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../shared/errors';

export interface AnalystQuery {
  name: string;
  description: string;
  /** BigQuery SQL, as documented. */
  sql: string;
}

export const ANALYST_QUERIES_FILE = path.resolve(__dirname, '..', '..', 'docs', 'analyst-queries.sql');

/** Splits the file at its `-- name: <name>` lines; the comment lines right after a name describe it. */
export function parseAnalystQueries(text: string): AnalystQuery[] {
  const queries: AnalystQuery[] = [];
  let current: { name: string; description: string[]; sql: string[] } | undefined;
  const finish = () => {
    if (current) queries.push({ name: current.name, description: current.description.join(' '), sql: current.sql.join('\n').trim() });
  };
  for (const line of text.split(/\r?\n/)) {
    const name = /^--\s*name:\s*(\S+)\s*$/.exec(line);
    if (name) {
      finish();
      current = { name: name[1], description: [], sql: [] };
    } else if (current && !current.sql.length && /^--/.test(line)) {
      current.description.push(line.replace(/^--\s?/, '').trim());
    } else if (current) {
      current.sql.push(line);
    }
  }
  finish();
  return queries;
}

export function analystQueries(file = ANALYST_QUERIES_FILE): AnalystQuery[] {
  return parseAnalystQueries(fs.readFileSync(file, 'utf8'));
}

export function analystQuery(name: string, file = ANALYST_QUERIES_FILE): AnalystQuery {
  const queries = analystQueries(file);
  const found = queries.find((q) => q.name === name);
  if (!found) throw new UserError(`no example query "${name}" (examples: ${queries.map((q) => q.name).join(', ')})`);
  return found;
}
