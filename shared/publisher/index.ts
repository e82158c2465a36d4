export * from './publisher';
export * from './errors';
