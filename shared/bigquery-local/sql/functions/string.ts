/** String functions, with BigQuery's NULL handling (CONCAT is NULL if any argument is) and 1-based positions. */
import { UnsupportedLocallyError } from '../../errors';
import { quoteString } from '../duckdb';
import { arity, literalString, renamed, type Call, type Handler } from './call';

/** 1 if the pattern has a capturing group (BigQuery then returns the group), else 0. */
function groupOf(c: Call): number {
  const pattern = literalString(c, 1);
  if (pattern === undefined) throw new UnsupportedLocallyError(`${c.name} with a pattern that is not a string literal`);
  const groups = pattern.match(/(^|[^\\])\((?!\?)/g)?.length ?? 0;
  if (groups > 1) throw new SyntaxError(`${c.name}: the regular expression can have at most one capturing group`);
  return groups;
}

/** FORMAT's printf directives; %t (a value's text form) is %s locally. */
function format(c: Call): string {
  if (c.args.length < 1) throw new SyntaxError('FORMAT needs a format string');
  const f = literalString(c, 0);
  if (f === undefined) throw new UnsupportedLocallyError('FORMAT with a format that is not a string literal');
  const duck = f.replace(/%[-+ #0]*\d*(\.\d+)?[a-zA-Z%]/g, (d) => {
    const conv = d[d.length - 1];
    if ('dis'.includes(conv)) return d.slice(0, -1) + (conv === 'i' ? 'd' : conv);
    if ('fFeEgGxXo%'.includes(conv)) return d;
    if (conv === 't' || conv === 'T') return d.slice(0, -1) + 's';
    throw new UnsupportedLocallyError(`FORMAT directive ${d}`);
  });
  return `printf(${[quoteString(duck), ...c.args.slice(1).map((_, i) => c.sql(i + 1))].join(', ')})`;
}

/**
 * LENGTH / BYTE_LENGTH take STRING or BYTES; DuckDB's length and strlen take only VARCHAR and
 * octet_length only BLOB, so the argument's type picks the function (typeof folds per column type).
 */
const lengthOf =
  (strings: string): Handler =>
  (c) => {
    arity(c, 1);
    const x = c.sql(0);
    const type = c.args[0].type === 'blob_literal' ? 'BLOB' : c.args[0].type === 'string_literal' ? 'VARCHAR' : c.e.typeOf(c.args[0]);
    if (type === 'BLOB') return `octet_length(${x})`;
    if (type === 'VARCHAR') return `${strings}(${x})`;
    return `(CASE WHEN typeof(${x}) = 'BLOB' THEN octet_length(CAST(${x} AS BLOB)) ELSE ${strings}(CAST(${x} AS VARCHAR)) END)`;
  };

export const STRING_FUNCTIONS: Record<string, Handler> = {
  CONCAT: (c) => (arity(c, 1, 1000), `(${c.args.map((_, i) => c.sql(i)).join(' || ')})`),
  FORMAT: format,
  LENGTH: lengthOf('length'),
  CHAR_LENGTH: renamed('length', 1),
  CHARACTER_LENGTH: renamed('length', 1),
  BYTE_LENGTH: lengthOf('strlen'),
  // BigQuery's hashes are BYTES; DuckDB's are hex text.
  MD5: (c) => (arity(c, 1), `unhex(md5(${c.sql(0)}))`),
  SHA256: (c) => (arity(c, 1), `unhex(sha256(${c.sql(0)}))`),
  LOWER: renamed('lower', 1),
  UPPER: renamed('upper', 1),
  TRIM: renamed('trim', 1, 2),
  LTRIM: renamed('ltrim', 1, 2),
  RTRIM: renamed('rtrim', 1, 2),
  REPLACE: renamed('replace', 3),
  REVERSE: renamed('reverse', 1),
  REPEAT: renamed('repeat', 2),
  LEFT: renamed('left', 2),
  RIGHT: renamed('right', 2),
  STARTS_WITH: renamed('starts_with', 2),
  ENDS_WITH: renamed('ends_with', 2),
  STRPOS: renamed('strpos', 2),
  INSTR: (c) => {
    if (c.args.length > 2) throw new UnsupportedLocallyError('INSTR with a position or occurrence');
    arity(c, 2);
    return `strpos(${c.sql(0)}, ${c.sql(1)})`;
  },
  // Position 0 is 1; a negative position past the start starts at the first character.
  SUBSTR: (c) => {
    arity(c, 2, 3);
    const [s, p] = [c.sql(0), c.sql(1)];
    const start = `(CASE WHEN ${p} = 0 OR ${p} < -length(${s}) THEN 1 ELSE ${p} END)`;
    return c.args[2] ? `substring(${s}, ${start}, ${c.sql(2)})` : `substring(${s}, ${start})`;
  },
  LPAD: (c) => (arity(c, 2, 3), `lpad(${c.sql(0)}, ${c.sql(1)}, ${c.args[2] ? c.sql(2) : "' '"})`),
  RPAD: (c) => (arity(c, 2, 3), `rpad(${c.sql(0)}, ${c.sql(1)}, ${c.args[2] ? c.sql(2) : "' '"})`),
  SPLIT: (c) => (arity(c, 1, 2), `string_split(${c.sql(0)}, ${c.args[1] ? c.sql(1) : "','"})`),
  // Words are runs of letters and digits: each is lower-cased with its first letter upper-cased.
  INITCAP: (c) => {
    arity(c, 1);
    const s = c.sql(0);
    const ch = (i: string) => `substring(${s}, ${i}, 1)`;
    return `array_to_string(list_transform(range(1, length(${s}) + 1), i -> CASE WHEN i = 1 OR NOT regexp_matches(${ch('i - 1')}, '[[:alnum:]]') THEN upper(${ch('i')}) ELSE lower(${ch('i')}) END), '')`;
  },
  REGEXP_CONTAINS: renamed('regexp_matches', 2),
  REGEXP_REPLACE: (c) => (arity(c, 3), `regexp_replace(${c.sql(0)}, ${c.sql(1)}, ${c.sql(2)}, 'g')`),
  // NULL when nothing matches (DuckDB answers '').
  REGEXP_EXTRACT: (c) => (arity(c, 2), `(CASE WHEN regexp_matches(${c.sql(0)}, ${c.sql(1)}) THEN regexp_extract(${c.sql(0)}, ${c.sql(1)}, ${groupOf(c)}) END)`),
  REGEXP_EXTRACT_ALL: (c) => (arity(c, 2), `regexp_extract_all(${c.sql(0)}, ${c.sql(1)}, ${groupOf(c)})`),
  TO_HEX: (c) => (arity(c, 1), `lower(hex(${c.sql(0)}))`),
  GENERATE_UUID: (c) => (arity(c, 0), 'CAST(gen_random_uuid() AS VARCHAR)'),
  TO_JSON_STRING: (c) => (arity(c, 1), `CAST(to_json(${c.sql(0)}) AS VARCHAR)`),
};
