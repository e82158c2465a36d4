/**
 * Valid events Pub/Sub dead-lettered because their service was killed under every delivery: what
 * Pub/Sub does in GCP too when a Cloud Run instance crashes on each attempt (after `maxAttempts`
 * it forwards the message to the dead-letter topic), so not a defect of the mesh, but not done
 * either. An operator redrives them once the service is healthy (`mesh dead-letters --redrive
 * --reason max-delivery-attempts`); the fault run does the same, audited, and then requires them
 * applied like every other valid event. A valid event held after a failure its service answered
 * (an HTTP status, i.e. retried as transient) stays a failure of the run.
 */
import type { HeldMessage } from '../../shared/consumer/dead-letter-hold';

/** consumer -> event ids to redrive: held after max delivery attempts, every failure a dead connection. */
export function validHeldAfterKills(
  held: ReadonlyMap<string, readonly HeldMessage[]>,
  /** The message ids Pub/Sub gave a valid event's sends (several when it was sent again), or undefined for any other event. */
  messageIdsOf: (eventId: string) => readonly string[] | undefined,
  /** From the push relay: failed deliveries of a message its service answered; undefined when the relay saw none fail (or for pull). */
  answeredFailures: (consumer: string, messageId: string) => number | undefined,
): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const [consumer, messages] of held) {
    for (const m of messages) {
      if (m.reason !== 'max-delivery-attempts' || !m.eventId) continue;
      const sends = messageIdsOf(m.eventId);
      if (!sends) continue;
      // Pub/Sub's copy names no source message: judge every send of the event the relay saw fail.
      const failed = sends.map((id) => answeredFailures(consumer, id)).filter((n): n is number => n !== undefined);
      if (failed.length && failed.every((n) => n === 0)) found.set(consumer, [...(found.get(consumer) ?? []), m.eventId]);
    }
  }
  return found;
}
