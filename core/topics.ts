/** Every Kafka topic Peregrine reads or writes, in one table. Stages name topics only from here. */
export const TOPICS = {
  spans: 'otlp_spans',
  metrics: 'otlp_metrics',
  logs: 'otlp_logs',
  features: 'peregrine.features.v1',
  findings: 'peregrine.findings.v1',
  deadLetter: 'peregrine.deadletter.v1',
  /**
   * Features stage, internal (features/README.md). Named after the stage's consumer group like Kafka Streams names its
   * own (`<features.groupId>-partials`, `-state`): these are the names for the default group.
   * partials: key entity id, explicit partition = hash(entity) mod partitions (as many as the features topic),
   * delete, retention 1 day; written by the features stage's source side (partial aggregates, then markers on every
   * partition), read by its merge side (group `<features.groupId>-merge`).
   * state: key entity id (and one history-start record per partition), same partitioning, compact; written by the
   * merge side before it commits, read back by a merge partition's new owner.
   */
  featurePartials: 'peregrine-features-partials',
  featureState: 'peregrine-features-state',
} as const;

export type TopicName = keyof typeof TOPICS;
