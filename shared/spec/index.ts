export * from './types';
export { loadSpec, parseSpec, defaultSpecPath, MeshSpecError, formatIssue, type SpecIssue } from './load';
export {
  consumerResources,
  topicSchemaName,
  pushPath,
  localServiceOf,
  LOCAL_ARCHIVE_SERVICE,
  DEAD_LETTER_ARCHIVE_SERVICE,
  archivesDeadLetters,
  subscriptionRetentionSeconds,
  DEFAULT_SUBSCRIPTION_RETENTION_SECONDS,
  BUFFER_WARN_RATIO,
  triageSlaSeconds,
  DEFAULT_TRIAGE_SLA_SECONDS,
} from './names';
export { parseDuration, toProtoDuration, formatDuration, approxDuration } from './duration';
export { LIMITS } from './rules';
