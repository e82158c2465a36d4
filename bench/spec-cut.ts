import type { MeshSpec } from '../shared/spec';

/**
 * The spec cut down to some consumers and the services that run them. A bench applies only what it
 * measures: a push subscription whose service is not running here makes the emulator retry pushes
 * to a closed port, about a core's worth, for as long as the run lasts.
 */
export function withOnlyConsumers(spec: MeshSpec, names: string[]): MeshSpec {
  const consumers = Object.fromEntries(names.map((name) => [name, spec.consumers[name]]));
  const services = Object.fromEntries(
    Object.entries(spec.services)
      .map(([name, s]) => [name, { ...s, consumers: s.consumers.filter((c) => names.includes(c)) }] as const)
      .filter(([, s]) => s.consumers.length),
  );
  return { ...spec, consumers, services };
}
