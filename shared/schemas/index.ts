export * from './topic-schemas';
export * from './registry';
export * from './samples';
