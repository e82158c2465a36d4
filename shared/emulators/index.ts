export * from './sdk';
export * from './ports';
export * from './process';
export * from './pubsub';
export * from './firestore';
export * from './jvm';
