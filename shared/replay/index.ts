/**
 * Governed replay (docs/operations.md): a request with owner, intent and a bounded scope
 * (request.ts), read from the warehouse (source.ts), sized before it runs (plan.ts), sent to one
 * consumer's private path at a ceiling (pacer.ts, run.ts), every step audited (audit.ts).
 */
export * from './request';
export * from './source';
export * from './pacer';
export * from './audit';
export * from './plan';
export * from './run';
export * from './applied';
export * from './rebuild';
