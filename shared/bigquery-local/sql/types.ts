/** BigQuery data type nodes (CAST targets, typed STRUCT / ARRAY literals) -> DuckDB type names. */
import { UnsupportedLocallyError } from '../errors';
import { duckTypeOf } from './duckdb';
import { items, kw, type N } from './node';

export function dataTypeOf(t: N): string {
  if (t.type === 'data_type_name') return duckTypeOf(kw(t.name));
  if (t.type === 'parametric_data_type') {
    const name = kw(t.typeKw);
    const params = items(t.params?.params);
    if (name === 'ARRAY' && params.length === 1) return `${dataTypeOf(params[0].dataType)}[]`;
    if (name === 'STRUCT' && params.length) return `STRUCT(${params.map((p) => `"${String(p.name.name)}" ${dataTypeOf(p.dataType)}`).join(', ')})`;
    // NUMERIC(10, 2), STRING(10): the parameters only constrain values.
    if (name !== 'ARRAY' && name !== 'STRUCT') return duckTypeOf(name);
  }
  throw new UnsupportedLocallyError(`type ${t.type}`);
}
