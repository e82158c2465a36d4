export * from './apply';
export * from './connect';
export * from './run';
export * from './supervisor';
export * from './isolated-spec';
export * from './emulators';
