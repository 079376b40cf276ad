/**
 * Every Kafka topic Peregrine reads or writes, in one table: its default name (`topics.<id>` in the configuration
 * renames it), what its messages are keyed by, how many partitions, how long it keeps data, and which components write
 * and read it. Stages create the topics they use from this table (`ensureTopics`), never from their own list.
 */
import type { KafkaAdapter, TopicSpec } from './kafka/adapter.ts';

export interface TopicRow {
  /** The configuration key under `topics:` and the name code uses. */
  id: string;
  /** Default topic name. */
  name: string;
  what: string;
  key: string;
  /** `pipeline`: `topics.partitions` (keyed topics whose partitions spread a stage's instances); or a fixed count. */
  partitions: 'pipeline' | number;
  cleanup: 'delete' | 'compact';
  /** Broker default (7 days) when absent. */
  retentionMs?: number;
  writers: readonly string[];
  readers: readonly string[];
}

export const TOPIC_TABLE = [
  {
    id: 'spans', name: 'otlp_spans', what: 'ExportTraceServiceRequest, otlp_proto (otlp_json also read)', key: 'trace id (one message per trace id) or none',
    partitions: 'pipeline', cleanup: 'delete', writers: ['receiver', 'stock collector', 'import pixie'], readers: ['features', 'detectors (request detectors)', 'Jaeger'],
  },
  {
    id: 'metrics', name: 'otlp_metrics', what: 'ExportMetricsServiceRequest, otlp_proto', key: 'resource attributes hash or none',
    partitions: 'pipeline', cleanup: 'delete', writers: ['receiver', 'stock collector'], readers: ['features'],
  },
  {
    id: 'logs', name: 'otlp_logs', what: 'ExportLogsServiceRequest, otlp_proto (application logs, the sensor\'s exec and connection records)', key: 'resource attributes hash or none',
    partitions: 'pipeline', cleanup: 'delete', writers: ['receiver', 'stock collector'], readers: ['features'],
  },
  {
    id: 'features', name: 'peregrine.features.v1', what: 'FeatureVector, Avro (schemas/feature-vector.avsc), fingerprint in header peregrine-schema', key: 'entity id',
    partitions: 'pipeline', cleanup: 'delete', writers: ['features'], readers: ['detectors'],
  },
  {
    id: 'findings', name: 'peregrine.findings.v1', what: 'the SOC alert feed: ECS finding documents, JSON (schemas/findings.v1.schema.json)', key: 'entity id',
    partitions: 'pipeline', cleanup: 'delete', writers: ['detectors'], readers: ['findings (Elasticsearch indexer, webhook)', 'console (live findings)', 'SOC tools'],
  },
  {
    id: 'detectorsState', name: 'peregrine.detectors.state.v1', what: 'detector baselines and learned history, JSON per key (changelog)', key: 'detector/store/key, in the partition of the entity it belongs to',
    partitions: 'pipeline', cleanup: 'compact', writers: ['detectors'], readers: ['detectors (restore on start and on rebalance)'],
  },
  {
    id: 'deadLetter', name: 'peregrine.deadletter.v1', what: 'records a stage could not handle, as they came, with source topic/partition/offset, stage and reason headers', key: 'as the record came',
    partitions: 1, cleanup: 'delete', retentionMs: 30 * 24 * 3_600_000, writers: ['every stage'], readers: ['operators'],
  },
] as const satisfies readonly TopicRow[];

export type TopicId = (typeof TOPIC_TABLE)[number]['id'];

/** Default names by id (what `topics.<id>` defaults to). */
export const TOPICS = Object.fromEntries(TOPIC_TABLE.map((t) => [t.id, t.name])) as { [R in (typeof TOPIC_TABLE)[number] as R['id']]: R['name'] };

/** The topic names in use (`topics:` of the configuration) and the pipeline's partition count. */
export type TopicNames = Record<TopicId, string> & { partitions: number };

/** The create-if-missing specs of the given topics, from the table and the configured names. */
export function topicSpecs(names: TopicNames, ids: readonly TopicId[]): TopicSpec[] {
  return ids.map((id) => {
    const row: TopicRow = TOPIC_TABLE.find((t) => t.id === id)!;
    const config: Record<string, string> = { 'cleanup.policy': row.cleanup };
    if (row.retentionMs !== undefined) config['retention.ms'] = String(row.retentionMs);
    return { topic: names[id], partitions: row.partitions === 'pipeline' ? names.partitions : row.partitions, config };
  });
}

/** Creates the topics a component uses, as the table says, where they do not exist yet. */
export function ensureTopics(kafka: KafkaAdapter, names: TopicNames, ids: readonly TopicId[]): Promise<void> {
  return kafka.ensureTopics(topicSpecs(names, ids));
}
