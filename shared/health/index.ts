export * from './types';
export { CloudMonitoringHealth } from './cloud-monitoring';
export { LocalTapHealth, type AckSource, type AckBatch } from './local';
export { httpAckSource, combineAckSources, parseServiceUrls, serviceUrlsFromEnv, AckSourceError, type HttpAckSourceOptions } from './acks-http';
