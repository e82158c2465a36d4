export * from './types';
export * from './errors';
export { createDecoder, type Decoder } from './decode';
export { classifyError, sinkFailure, type Verdict } from './classify';
export {
  DeadLetterPublisher,
  deadLetterAttributes,
  deadLetterReasonOf,
  isLastAttempt,
  PUBSUB_DEAD_LETTER_PREFIX,
  type DeadLetterSink,
  type DeadLetterInfo,
  type DeadLetterPublisherOptions,
} from './dead-letter';
export { createPipeline, DEFAULT_HANDLER_TIMEOUT_MS, type Pipeline, type PipelineOptions, type RawHandler } from './pipeline';
export { DependencyMonitor, type DependencyProbe, type DependencyMonitorOptions } from './dependencies';
export {
  parsePushRequest,
  parseWrapped,
  parseNoWrapper,
  wrapPushBody,
  createPushListener,
  readBody,
  DEFAULT_MAX_PUSH_BODY_BYTES,
  PUSH_PREFIX,
  type ParsedPush,
  type PushRoute,
  type PushListener,
  type PushListenerOptions,
} from './push';
export { PullConsumer, pullsOf, drainPulls, type PullConsumerOptions, type PullTransport } from './pull';
export { KeyedQueue, KeyOrder, type KeyOrderOptions, type KeyTurn } from './ordering';
export {
  SubscriptionAccess,
  assertSubscriptionName,
  refusalCode,
  DEFAULT_OPEN_RETRY,
  SUBSCRIBER_ROLE,
  type OpenRetryOptions,
  type RefusalCode,
  type SubscriptionAccessOptions,
} from './subscription-access';
export { UnaryPuller, type UnaryPullerOptions, type PulledMessage } from './unary-pull';
export { AckFailedError } from './settle-queue';
export { createPushVerifier, pushTokenHeader, SIGNATURE_REMOVED, type PushAuthOptions, type PushTokenCheck, type PushVerifier } from './auth';
export { ServiceStats, AckLog, type ConsumerCounters, type StatsSnapshot } from './stats';
export { LatencyRecorder, LATENCY_WINDOW_MS, type LatencySummary } from './latency';
export { createLogger, traceFields, type Logger, type LoggerOptions } from './logger';
export { followControls, type ConsumerControlSource } from './controls-follow';
export { createMeshService, serviceOptionsFrom, type MeshService, type MeshServiceOptions, type ServiceAppOptions } from './service';
export { runService, type RunServiceOptions } from './shutdown';
export {
  pushAuthFromEnv,
  pushTokenCheckFromEnv,
  pullTransportFromEnv,
  projectFromEnv,
  pubsubFromEnv,
  firestoreFromEnv,
  portFromEnv,
  hostFromEnv,
  usingEmulators,
} from './env';
export { InFlight } from './inflight';
export { runServiceFromEnv, type ServiceEnvironment } from './main';
