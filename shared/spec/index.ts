export * from './types';
export { loadSpec, parseSpec, defaultSpecPath, MeshSpecError, formatIssue, type SpecIssue } from './load';
export { consumerResources, topicSchemaName, pushPath } from './names';
export { parseDuration, toProtoDuration, formatDuration } from './duration';
export { LIMITS } from './rules';
