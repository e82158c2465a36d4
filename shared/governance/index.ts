export * from './issues';
export * from './compatibility';
export * from './lock';
export * from './deprecation';
export * from './approvals';
export * from './readiness';
export * from './check';
