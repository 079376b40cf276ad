/**
 * Every version the local stack installs, in one place. The Kafka pom (kafka/pom.xml) receives these as -D
 * properties; the Jaeger module (jaeger/go.mod) must require the same Jaeger version (checked at install).
 */
export const VERSIONS = {
  kafka: '4.3.1',
  /** Declared directly in the Kafka pom: Kafka's own pom pulls 1.7.36, which binds the no-op logger. */
  slf4jApi: '2.0.17',
  log4j: '2.25.3',
  mavenDependencyPlugin: '3.8.1',
  elasticsearch: '9.5.4',
  /** Same commit as Jaeger v2.13.0; the last version the Go module proxy serves. */
  jaeger: '1.76.0',
  mlflow: '3.17.2',
} as const;

/** Minimum runtimes, with what to install when they are missing. */
export const PREREQUISITES = {
  javaForKafka: 17,
  javaForElasticsearch: 21,
  go: '1.24.6',
  python: '3.10',
} as const;

/** Fixed loopback ports. Each service's first port is the one `stack status` shows. */
export const PORTS = {
  kafka: 9092,
  kafkaController: 9093,
  elasticsearch: 9200,
  elasticsearchTransport: 9300,
  otlpGrpc: 4317,
  otlpHttp: 4318,
  jaegerCollectorHealth: 13133,
  jaegerCollectorHealthGrpc: 13132,
  jaegerCollectorMetrics: 8888,
  jaegerQuery: 16686,
  jaegerQueryGrpc: 16685,
  jaegerQueryHealth: 14133,
  jaegerQueryHealthGrpc: 14132,
  jaegerQueryMetrics: 8889,
  mlflow: 5000,
  /** `/metrics` and `/healthz` of the stack's own Peregrine receiver. */
  peregrineReceiverMetrics: 9465,
} as const;

export const HOST = '127.0.0.1';

/** The Jaeger v2 release of the same commit as VERSIONS.jaeger (Go module v1.76.0): the container image's tag. */
export const JAEGER_V2_RELEASE = '2.13.0';
