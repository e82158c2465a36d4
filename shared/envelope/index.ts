export * from './event';
export * from './pubsub-binding';
export * from './time';
export * from './well-formed';
