/**
 * How a deliverer (a service's pull consumers, the local push relay) follows its consumers'
 * controls (`mesh pause`, shared/operations/controls.ts) without pulling a moment before it knows.
 */

/** How long start() waits for the consumers' controls before pulling anyway (a control store that does not answer must not stop the mesh). */
const CONTROL_FIRST_READING_MS = 5000;

/** Tells when a consumer is paused or resumed; close() stops telling. */
export interface ConsumerControlSource {
  watch(consumer: string, onChange: (paused: boolean) => void): void;
  close(): void;
}

/**
 * Watches each consumer's control and calls onChange at every change; resolves once every consumer
 * had its first reading, or after CONTROL_FIRST_READING_MS, so a deliverer can start paused ones
 * paused instead of pulling a moment first.
 */
export function followControls(
  source: ConsumerControlSource | undefined,
  consumers: string[],
  onChange: (consumer: string, paused: boolean) => void,
): Promise<void> {
  return Promise.all(
    consumers.map(
      (name) =>
        new Promise<void>((firstReading) => {
          if (!source) return firstReading();
          const timer = setTimeout(firstReading, CONTROL_FIRST_READING_MS);
          source.watch(name, (isPaused) => {
            clearTimeout(timer);
            onChange(name, isPaused);
            firstReading();
          });
        }),
    ),
  ).then(() => undefined);
}
