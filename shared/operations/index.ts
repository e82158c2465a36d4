/**
 * Operations on a running mesh that change what a consumer receives, each audited (audit.ts):
 * redrive and purge of dead letters (redrive.ts, purge.ts), pause and resume (pause.ts, over the consumer controls of
 * controls.ts), and the runbooks every alert names (runbooks.ts). Replay is shared/replay.
 */
export * from './audit';
export * from './controls';
export * from './pause';
export * from './redrive';
export * from './purge';
export * from './runbooks';
export * from './triage';
