/** Each service's own event check, by the consumer's service: what readiness runs after the decoder. */
import type { EventCheckFor } from '../../shared/governance';
import type { MeshSpec } from '../../shared/spec';
import { eventCheckFor as dashboardCheck } from '../../services/dashboard/event-checks';
import { eventCheckFor as processorCheck } from '../../services/processor/event-checks';
import { eventCheckFor as warehouseCheck } from '../../services/warehouse/event-checks';

export function serviceEventChecks(spec: MeshSpec): EventCheckFor {
  return (consumer) => {
    switch (consumer.service) {
      case 'dashboard':
        return dashboardCheck(consumer);
      case 'processor':
        return processorCheck(consumer);
      case 'warehouse':
        return warehouseCheck(spec, consumer);
      default:
        return undefined;
    }
  };
}
