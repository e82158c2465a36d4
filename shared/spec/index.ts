export * from './types';
export { loadSpec, parseSpec, defaultSpecPath, MeshSpecError, formatIssue, type SpecIssue } from './load';
export { consumerResources, topicSchemaName, pushPath, localServiceOf, LOCAL_ARCHIVE_SERVICE } from './names';
export { parseDuration, toProtoDuration, formatDuration } from './duration';
export { LIMITS } from './rules';
