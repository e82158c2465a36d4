/**
 * The warehouse's contract, read by infra (creates the tables in GCP), the warehouse service (creates
 * them locally, verifies them, writes rows) and the tools (query the views): table schemas and names
 * (schema.ts), the dedup views' SQL (views.ts), events and dead letters as rows (rows.ts), what a
 * spec's names cannot map to (problems.ts), and the tools' own tables made where missing (ensure.ts).
 */
export * from './schema';
export * from './views';
export * from './rows';
export { warehouseProblems } from './problems';
export { ensureToolTable, type ToolTable } from './ensure';
