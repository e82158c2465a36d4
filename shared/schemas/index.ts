export * from './topic-schemas';
export * from './registry';
