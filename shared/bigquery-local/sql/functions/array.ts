/** Array functions. DuckDB lists are 1-based; BigQuery has no NULL elements in final arrays. */
import { arity, renamed, type Handler } from './call';

export const ARRAY_FUNCTIONS: Record<string, Handler> = {
  ARRAY_LENGTH: renamed('len', 1),
  ARRAY_CONCAT: (c) => (arity(c, 1, 1000), c.args.map((_, i) => c.sql(i)).reduce((a, b) => `list_concat(${a}, ${b})`)),
  ARRAY_REVERSE: renamed('list_reverse', 1),
  // NULL elements are skipped unless a replacement is given.
  ARRAY_TO_STRING: (c) => {
    arity(c, 2, 3);
    const list = c.args[2] ? `list_transform(${c.sql(0)}, x -> coalesce(x, ${c.sql(2)}))` : c.sql(0);
    return `array_to_string(${list}, ${c.sql(1)})`;
  },
  GENERATE_ARRAY: (c) => (arity(c, 2, 3), `generate_series(${c.sql(0)}, ${c.sql(1)}${c.args[2] ? `, ${c.sql(2)}` : ''})`),
  // ARRAY(SELECT ...): the subquery's rows as an array.
  ARRAY: (c) => (arity(c, 1), `ARRAY${c.sql(0).startsWith('(') ? c.sql(0) : `(${c.sql(0)})`}`),
};
