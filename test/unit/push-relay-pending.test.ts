/**
 * How long the local push relay holds a request pending while its service has no instance listening:
 * Cloud Run's rule, 3.5 times the average start-up time or 10 s, whichever is longer
 * (cloud.google.com/run/docs/about-instance-autoscaling).
 */
import { InstanceAvailability } from '../../shared/local/push-relay';

it('waits 10 s until it has seen a start-up, then 3.5 times the average of the last five, never under 10 s', () => {
  let now = 0;
  const instance = new InstanceAvailability(() => now);
  expect(instance.pendingWindowMs()).toBe(10_000);
  const restart = (tookMs: number) => {
    instance.refused();
    now += tookMs / 2;
    instance.refused(); // refused again meanwhile: the outage started at the first
    now += tookMs / 2;
    instance.listening();
    now += 60_000;
  };
  restart(2000);
  expect(instance.pendingWindowMs()).toBe(10_000); // 3.5 x 2 s = 7 s: the floor holds
  restart(6000);
  expect(instance.pendingWindowMs()).toBe(14_000); // average 4 s
  for (let i = 0; i < 5; i++) restart(8000);
  expect(instance.pendingWindowMs()).toBe(28_000); // the last five only
  instance.listening(); // listening without an outage changes nothing
  expect(instance.pendingWindowMs()).toBe(28_000);
});
