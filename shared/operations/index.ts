/**
 * Operations on a running mesh that change what a consumer receives, each audited (audit.ts):
 * redrive of dead letters (redrive.ts). Replay is shared/replay.
 */
export * from './audit';
export * from './redrive';
