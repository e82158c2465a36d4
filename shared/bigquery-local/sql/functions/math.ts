/** Math and conditional functions: BigQuery errors on division by zero, GREATEST/LEAST are NULL if any argument is, LOG is natural. */
import { arity, renamed, type Call, type Handler } from './call';

const all = (c: Call) => c.args.map((_, i) => c.sql(i));

/** GREATEST / LEAST: DuckDB skips NULLs, BigQuery returns NULL. */
const nullIfAnyNull =
  (fn: string): Handler =>
  (c) => {
    arity(c, 1, 1000);
    const xs = all(c);
    return `(CASE WHEN ${xs.map((x) => `${x} IS NULL`).join(' OR ')} THEN NULL ELSE ${fn}(${xs.join(', ')}) END)`;
  };

/** ROUND / TRUNC / CEIL / FLOOR return FLOAT64 for INT64 input; known here for integer literals. */
const asFloat = (c: Call, i: number) =>
  c.args[i].type === 'number_literal' && !/[.eE]/.test(String(c.args[i].text)) ? `CAST(${c.sql(i)} AS DOUBLE)` : c.sql(i);
const rounding =
  (fn: string): Handler =>
  (c) => (arity(c, 1, fn === 'round' || fn === 'trunc' ? 2 : 1), `${fn}(${asFloat(c, 0)}${c.args[1] ? `, ${c.sql(1)}` : ''})`);

const divByZero = (b: string) => `${b} = 0 THEN error('division by zero')`;

export const MATH_FUNCTIONS: Record<string, Handler> = {
  ABS: renamed('abs', 1),
  SIGN: renamed('sign', 1),
  SQRT: renamed('sqrt', 1),
  LN: renamed('ln', 1),
  LOG10: renamed('log10', 1),
  EXP: renamed('exp', 1),
  CEIL: rounding('ceil'),
  CEILING: rounding('ceil'),
  FLOOR: rounding('floor'),
  POW: renamed('pow', 2),
  POWER: renamed('pow', 2),
  RAND: renamed('random', 0),
  LOG: (c) => (arity(c, 1, 2), c.args[1] ? `(ln(${c.sql(0)}) / ln(${c.sql(1)}))` : `ln(${c.sql(0)})`),
  // DuckDB's round() rounds half away from zero, as BigQuery does; ROUND returns FLOAT64 for INT64 input.
  ROUND: rounding('round'),
  TRUNC: rounding('trunc'),
  DIV: (c) => (arity(c, 2), `(CASE WHEN ${divByZero(c.sql(1))} ELSE ${c.sql(0)} // ${c.sql(1)} END)`),
  MOD: (c) => (arity(c, 2), `(CASE WHEN ${divByZero(c.sql(1))} ELSE ${c.sql(0)} % ${c.sql(1)} END)`),
  SAFE_DIVIDE: (c) => (arity(c, 2), `(CASE WHEN ${c.sql(1)} = 0 THEN NULL ELSE ${c.sql(0)} / ${c.sql(1)} END)`),
  SAFE_MULTIPLY: (c) => (arity(c, 2), `try(${c.sql(0)} * ${c.sql(1)})`),
  SAFE_ADD: (c) => (arity(c, 2), `try(${c.sql(0)} + ${c.sql(1)})`),
  SAFE_SUBTRACT: (c) => (arity(c, 2), `try(${c.sql(0)} - ${c.sql(1)})`),
  SAFE_NEGATE: (c) => (arity(c, 1), `try(-${c.sql(0)})`),
  IEEE_DIVIDE: (c) => (
    arity(c, 2),
    `(CASE WHEN CAST(${c.sql(1)} AS DOUBLE) = 0 THEN (CASE WHEN CAST(${c.sql(0)} AS DOUBLE) = 0 OR isnan(CAST(${c.sql(0)} AS DOUBLE)) THEN CAST('nan' AS DOUBLE) ELSE sign(CAST(${c.sql(0)} AS DOUBLE)) * CAST('inf' AS DOUBLE) END) ELSE CAST(${c.sql(0)} AS DOUBLE) / CAST(${c.sql(1)} AS DOUBLE) END)`
  ),
  GREATEST: nullIfAnyNull('greatest'),
  LEAST: nullIfAnyNull('least'),
  ERROR: (c) => (arity(c, 1), `error(${c.sql(0)})`),
  IF: (c) => (arity(c, 3), `(CASE WHEN ${c.sql(0)} THEN ${c.sql(1)} ELSE ${c.sql(2)} END)`),
  IFNULL: renamed('coalesce', 2),
  COALESCE: (c) => (arity(c, 1, 1000), `coalesce(${all(c).join(', ')})`),
  NULLIF: renamed('nullif', 2),
};
