/** Every Kafka topic Peregrine reads or writes, in one table. Stages name topics only from here. */
export const TOPICS = {
  spans: 'otlp_spans',
  metrics: 'otlp_metrics',
  logs: 'otlp_logs',
  features: 'peregrine.features.v1',
  findings: 'peregrine.findings.v1',
  deadLetter: 'peregrine.deadletter.v1',
} as const;

export type TopicName = keyof typeof TOPICS;
