/** What in a spec the warehouse's tables cannot take, found before anything is deployed (infra/config.ts). */
import type { MeshSpec } from '../spec';
import { DEAD_LETTERS_TABLE, eventsDedupViewName, eventsTableName, eventsTableSchema } from './schema';

/** Name clashes BigQuery would only report halfway through a deployment. */
export function warehouseProblems(spec: MeshSpec): string[] {
  const problems: string[] = [];
  const owners = new Map<string, string>([[DEAD_LETTERS_TABLE, 'the dead-letter table']]);
  const claim = (table: string, owner: string) => {
    const taken = owners.get(table);
    if (taken && taken !== owner) problems.push(`warehouse table "${table}" of ${owner} is already ${taken}`);
    else owners.set(table, owner);
  };
  for (const topic of Object.values(spec.topics)) {
    claim(eventsTableName(topic.name), `topic ${topic.name}`);
    claim(eventsDedupViewName(topic.name), `topic ${topic.name}`);
    try {
      eventsTableSchema(topic);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  // Several BigQuery consumers may share one table (same columns), so claim per table, not per consumer.
  for (const c of Object.values(spec.consumers)) if (c.delivery === 'bigquery' && c.table) claim(c.table, `bigquery consumer table ${c.table}`);
  return problems;
}
