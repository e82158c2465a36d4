export * from './types';
export { CloudMonitoringHealth } from './cloud-monitoring';
export { LocalTapHealth, type AckSource } from './local';
