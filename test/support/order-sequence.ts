/**
 * Why an order's steps ran out of sequence on the Pub/Sub emulator, if its records explain it
 * (processor-sigterm.test.ts). A stop sends back what it could not start; the emulator (not GCP) may
 * then hand out a key's later, never-delivered messages before them (docs/consumers.md, "ordered
 * redelivery"). So an explained order has an earlier step applied on a later delivery attempt than
 * some later step, and every step is still there exactly once: in its history, or as its anomaly.
 */
export interface OrderStepRecord {
  eventId: string;
  sequence: number;
  /** The dedup record's deliveryAttempt: the delivery that applied the step. */
  deliveryAttempt: number | undefined;
}

/** `history`: the projection's history event ids; `anomalies`: the order's anomaly document ids (event ids). */
export function emulatorReorder(steps: OrderStepRecord[], history: string[], anomalies: string[]): string | undefined {
  if (new Set(history).size !== history.length) return undefined;
  if (!steps.every((s) => history.includes(s.eventId) || anomalies.includes(s.eventId))) return undefined;
  const attempts = [...steps].sort((a, b) => a.sequence - b.sequence).map((s) => s.deliveryAttempt ?? 0);
  const wentBack = attempts.findIndex((attempt, i) => attempts.slice(i + 1).some((later) => later < attempt));
  if (wentBack < 0) return undefined;
  return `steps applied on delivery attempts ${attempts.join(', ')}: step ${wentBack + 1} went back and a later one came first; ${anomalies.length} anomalies`;
}
