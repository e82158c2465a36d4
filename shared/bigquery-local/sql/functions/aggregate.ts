/**
 * Aggregate and window functions. ARRAY_AGG errors on a NULL element unless IGNORE NULLS, as BigQuery
 * does (an array with a NULL cannot be a result there). APPROX_COUNT_DISTINCT and APPROX_QUANTILES
 * are exact locally: BigQuery's sketches are exact at small cardinalities, and exact is what a test
 * against a few rows expects; APPROX_QUANTILES(x, n) is quantile_disc at 0, 1/n, ..., 1.
 */
import { UnsupportedLocallyError } from '../../errors';
import { arity, type Call, type Handler } from './call';

const distinct = (c: Call) => (c.modifiers?.distinctKw ? 'DISTINCT ' : '');
const orderBy = (c: Call) => (c.modifiers?.orderBy ? ` ${c.e.node(c.modifiers.orderBy)}` : '');
const ignoreNulls = (c: Call) => /^IGNORE/i.test(String((c.modifiers?.nullHandlingKw ?? [])[0]?.text ?? ''));
const limitOf = (c: Call) => (c.modifiers?.limit ? c.e.node(c.modifiers.limit.count) : undefined);

function noExtras(c: Call, allowDistinct = true): void {
  const m = c.modifiers;
  if (m && ((!allowDistinct && m.distinctKw) || m.nullHandlingKw || m.orderBy || m.limit || m.having))
    throw new UnsupportedLocallyError(`${c.name} with IGNORE NULLS, ORDER BY, LIMIT or HAVING`);
}

/** A plain aggregate: DISTINCT is allowed, nothing else inside the call. */
const aggregate =
  (fn: string, min = 1, max = min): Handler =>
  (c) => {
    arity(c, min, max);
    noExtras(c);
    return `${fn}(${distinct(c)}${c.args.map((_, i) => c.sql(i)).join(', ')})`;
  };

/**
 * AVG: NUMERIC for NUMERIC (rounded half away from zero to 9 decimal places), FLOAT64 otherwise;
 * DuckDB's avg is DOUBLE for DECIMAL too. Over NUMERIC the sum is taken exactly in units of 1e-9
 * (HUGEINT) and divided with integer arithmetic. When the argument's type is not known while
 * translating, an argument that turns out to be NUMERIC is refused when the query runs.
 */
function avg(c: Call): string {
  arity(c, 1);
  noExtras(c);
  const x = c.sql(0);
  const type = c.e.typeOf(c.args[0]);
  const over = c.overSql ? ` ${c.overSql}` : '';
  c.overPlaced = true;
  if (type?.startsWith('DECIMAL')) {
    const units = `sum(${distinct(c)}CAST(trunc(${x}) AS HUGEINT) * 1000000000 + CAST((${x} - trunc(${x})) * 1000000000 AS HUGEINT))${over}`;
    const n = `count(${distinct(c)}${x})${over}`;
    const quotient = `v -> v.s // v.n + (CASE WHEN 2 * abs(v.s % v.n) >= v.n THEN sign(v.s) ELSE 0 END)`;
    const text = `(CASE WHEN q < 0 THEN '-' ELSE '' END) || CAST(abs(q) // 1000000000 AS VARCHAR) || '.' || lpad(CAST(abs(q) % 1000000000 AS VARCHAR), 9, '0')`;
    return `list_transform(list_transform([struct_pack(s := ${units}, n := ${n})], ${quotient}), q -> CAST(${text} AS DECIMAL(38,9)))[1]`;
  }
  const plain = `avg(${distinct(c)}${x})${over}`;
  if (type !== undefined) return plain;
  return `(CASE WHEN typeof(any_value(${x})${over}) LIKE 'DECIMAL%' THEN error('unsupported locally: AVG of a NUMERIC expression whose type is not known while translating (AVG a NUMERIC column or CAST(... AS NUMERIC))') ELSE ${plain} END)`;
}

function arrayAgg(c: Call): string {
  arity(c, 1);
  if (c.modifiers?.having) throw new UnsupportedLocallyError('ARRAY_AGG ... HAVING MAX/MIN');
  const x = c.sql(0);
  const filter = ignoreNulls(c) ? ` FILTER (WHERE ${x} IS NOT NULL)` : '';
  let sql = `array_agg(${distinct(c)}${x}${orderBy(c)})${filter}`;
  const limit = limitOf(c);
  if (limit) sql = `list_slice(${sql}, 1, ${limit})`;
  if (ignoreNulls(c) || c.windowed) return sql;
  return `(CASE WHEN bool_or(${x} IS NULL) THEN error('Array cannot have a null element; error in writing field') ELSE ${sql} END)`;
}

function stringAgg(c: Call): string {
  arity(c, 1, 2);
  const x = c.sql(0);
  const sep = c.args[1] ? c.sql(1) : "','";
  const limit = limitOf(c);
  if (limit) return `array_to_string(list_slice(array_agg(${distinct(c)}${x}${orderBy(c)}) FILTER (WHERE ${x} IS NOT NULL), 1, ${limit}), ${sep})`;
  return `string_agg(${distinct(c)}${x}, ${sep}${orderBy(c)})`;
}

function approxQuantiles(c: Call): string {
  arity(c, 2);
  noExtras(c);
  const n = c.args[1].type === 'number_literal' ? Number(c.args[1].text) : NaN;
  if (!Number.isInteger(n) || n < 1) throw new UnsupportedLocallyError('APPROX_QUANTILES with a bucket count that is not a positive integer literal');
  const fractions = Array.from({ length: n + 1 }, (_, k) => String(k / n));
  return `quantile_disc(${c.sql(0)}, [${fractions.join(', ')}])`;
}

/** APPROX_TOP_COUNT(x, n): exact locally, the n most frequent values with their counts, most frequent first. */
function approxTopCount(c: Call): string {
  arity(c, 2);
  noExtras(c, false);
  const counted = `list_transform(map_entries(histogram(${c.sql(0)})), e -> struct_pack(c := CAST(e.value AS BIGINT), v := e.key))`;
  return `list_slice(list_transform(list_reverse(list_sort(${counted})), e -> struct_pack(value := e.v, count := e.c)), 1, ${c.sql(1)})`;
}

/** Window-only functions, with IGNORE NULLS where DuckDB has it too. */
const windowFn =
  (fn: string, min: number, max = min): Handler =>
  (c) => {
    arity(c, min, max);
    if (!c.windowed) throw new SyntaxError(`${c.name} needs an OVER clause`);
    const nulls = ignoreNulls(c) ? ' IGNORE NULLS' : '';
    return `${fn}(${c.args.map((_, i) => c.sql(i)).join(', ')}${nulls})`;
  };

export const AGGREGATE_FUNCTIONS: Record<string, Handler> = {
  COUNT: (c) => (arity(c, 1), noExtras(c), `count(${distinct(c)}${c.sql(0)})`),
  SUM: aggregate('sum'),
  AVG: avg,
  MIN: aggregate('min'),
  MAX: aggregate('max'),
  ANY_VALUE: aggregate('any_value'),
  // COUNTIF counts TRUE; DuckDB's count_if returns NULL when every input is NULL, so count a CASE.
  COUNTIF: (c) => (arity(c, 1), noExtras(c, false), `count(CASE WHEN ${c.sql(0)} THEN 1 END)`),
  LOGICAL_AND: aggregate('bool_and'),
  LOGICAL_OR: aggregate('bool_or'),
  APPROX_COUNT_DISTINCT: (c) => (arity(c, 1), noExtras(c), `count(DISTINCT ${c.sql(0)})`),
  APPROX_QUANTILES: approxQuantiles,
  APPROX_TOP_COUNT: approxTopCount,
  ARRAY_AGG: arrayAgg,
  STRING_AGG: stringAgg,
  STDDEV: aggregate('stddev_samp'),
  STDDEV_SAMP: aggregate('stddev_samp'),
  STDDEV_POP: aggregate('stddev_pop'),
  VARIANCE: aggregate('var_samp'),
  VAR_SAMP: aggregate('var_samp'),
  VAR_POP: aggregate('var_pop'),
  CORR: aggregate('corr', 2),
  COVAR_POP: aggregate('covar_pop', 2),
  COVAR_SAMP: aggregate('covar_samp', 2),
  ROW_NUMBER: windowFn('row_number', 0),
  RANK: windowFn('rank', 0),
  DENSE_RANK: windowFn('dense_rank', 0),
  PERCENT_RANK: windowFn('percent_rank', 0),
  CUME_DIST: windowFn('cume_dist', 0),
  NTILE: windowFn('ntile', 1),
  LAG: windowFn('lag', 1, 3),
  LEAD: windowFn('lead', 1, 3),
  FIRST_VALUE: windowFn('first_value', 1),
  LAST_VALUE: windowFn('last_value', 1),
  NTH_VALUE: windowFn('nth_value', 2),
  PERCENTILE_CONT: windowFn('quantile_cont', 2),
  PERCENTILE_DISC: windowFn('quantile_disc', 2),
};
