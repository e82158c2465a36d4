export * from './apply';
export * from './connect';
