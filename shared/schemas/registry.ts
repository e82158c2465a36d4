import type { MeshSpec } from '../spec/types';
import { TopicSchemas } from './topic-schemas';

const bySpec = new WeakMap<MeshSpec, Map<string, TopicSchemas>>();

/** The schemas of a spec's topic, loaded once per spec object. */
export function topicSchemas(spec: MeshSpec, topic: string): TopicSchemas {
  let cache = bySpec.get(spec);
  if (!cache) bySpec.set(spec, (cache = new Map()));
  let schemas = cache.get(topic);
  if (!schemas) {
    const topicSpec = spec.topics[topic];
    if (!topicSpec) throw new Error(`unknown topic "${topic}" (topics: ${Object.keys(spec.topics).join(', ')})`);
    schemas = TopicSchemas.load(topicSpec);
    cache.set(topic, schemas);
  }
  return schemas;
}
