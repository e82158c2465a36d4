/**
 * Operations on a running mesh that change what a consumer receives, each audited (audit.ts):
 * redrive of dead letters (redrive.ts), pause and resume (pause.ts, over the consumer controls of
 * controls.ts), and the runbooks every alert names (runbooks.ts). Replay is shared/replay.
 */
export * from './audit';
export * from './controls';
export * from './pause';
export * from './redrive';
export * from './runbooks';
