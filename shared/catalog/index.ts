/** The event catalog: the spec as an AsyncAPI 3.0 document (document.ts), and the views the dashboard's /catalog page shows (views.ts). */
export * from './document';
export * from './views';
export { diffRevisions, revisionHistory, isDeprecated, type FieldChange, type FieldChangeKind, type RevisionDiff } from './diff';
export { examplePayload } from './examples';
