export * from './event';
export * from './pubsub-binding';
