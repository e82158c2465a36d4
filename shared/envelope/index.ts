export * from './event';
export * from './errors';
export * from './dataschema';
export * from './extensions';
export * from './trace-context';
export * from './pubsub-binding';
export * from './time';
export * from './well-formed';
