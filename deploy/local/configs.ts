/**
 * Pure renderers for the files the stack writes (server.properties, elasticsearch.yml, ...) and small parsers.
 * No I/O here: the service modules write what these return.
 */
import { HOST, PORTS } from './versions.ts';

/** Kafka server.properties for one combined broker+controller node (KRaft, static quorum). */
export function kafkaServerProperties(options: { dataDir: string }): string {
  const settings: Array<[string, string | number | boolean]> = [
    ['process.roles', 'broker,controller'],
    ['node.id', 1],
    ['controller.quorum.voters', `1@${HOST}:${PORTS.kafkaController}`],
    ['listeners', `PLAINTEXT://${HOST}:${PORTS.kafka},CONTROLLER://${HOST}:${PORTS.kafkaController}`],
    ['advertised.listeners', `PLAINTEXT://${HOST}:${PORTS.kafka}`],
    ['controller.listener.names', 'CONTROLLER'],
    ['inter.broker.listener.name', 'PLAINTEXT'],
    ['listener.security.protocol.map', 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT'],
    ['log.dirs', options.dataDir],
    ['num.partitions', 6],
    ['auto.create.topics.enable', true],
    ['default.replication.factor', 1],
    ['min.insync.replicas', 1],
    // One node: every internal topic has one replica.
    ['offsets.topic.replication.factor', 1],
    ['offsets.topic.num.partitions', 10],
    ['transaction.state.log.replication.factor', 1],
    ['transaction.state.log.min.isr', 1],
    ['share.coordinator.state.topic.replication.factor', 1],
    ['share.coordinator.state.topic.min.isr', 1],
    ['group.initial.rebalance.delay.ms', 0],
    // A restarted broker otherwise waits ~12 s for its old registration to time out; this makes it ~3.6 s.
    ['broker.heartbeat.interval.ms', 500],
    ['broker.session.timeout.ms', 2000],
    // A development stack: keep two days and at most 1 GiB per partition.
    ['log.retention.hours', 48],
    ['log.retention.bytes', 1073741824],
  ];
  return ['# Written by `peregrine stack up` (deploy/local/configs.ts); edits are overwritten.', ...settings.map(([k, v]) => `${k}=${v}`), ''].join('\n');
}

/** Log4j2 for the broker: everything to stdout, which `stack up` sends to the service's log file. */
export function kafkaLog4j2Properties(): string {
  return `# Written by \`peregrine stack up\`.
status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka-request.name = kafka.request.logger
logger.kafka-request.level = WARN
logger.state-change.name = state.change.logger
logger.state-change.level = WARN
`;
}

export function kafkaJvmArgs(options: { heapMin: string; heapMax: string; tmpDir: string; log4jConfig: string; logsDir: string }): string[] {
  return [
    `-Xms${options.heapMin}`, `-Xmx${options.heapMax}`,
    '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:+ExplicitGCInvokesConcurrent',
    // hsperfdata would go to /tmp whatever java.io.tmpdir says.
    '-XX:-UsePerfData',
    '-Djava.awt.headless=true',
    `-Djava.io.tmpdir=${options.tmpDir}`,
    `-Dlog4j2.configurationFile=file:${options.log4jConfig}`,
    `-Dkafka.logs.dir=${options.logsDir}`,
  ];
}

/** A Kafka cluster id as `StorageTool random-uuid` makes it: 16 random bytes, URL-safe base64, never starting with '-'. */
export function kafkaClusterId(randomBytes: (n: number) => Buffer): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    // Kafka reserves the zero id and the metadata topic's id (0, 1).
    if (!id.startsWith('-') && id !== 'AAAAAAAAAAAAAAAAAAAAAA' && id !== 'AAAAAAAAAAAAAAAAAAAAAQ') return id;
  }
}

export function elasticsearchYml(options: { dataDir: string; logsDir: string }): string {
  return `# Written by \`peregrine stack up\` (deploy/local/configs.ts); edits are overwritten.
cluster.name: peregrine-stack
node.name: peregrine-1
discovery.type: single-node
network.host: ${HOST}
http.port: ${PORTS.elasticsearch}
transport.port: ${PORTS.elasticsearchTransport}
path.data: ${options.dataDir}
path.logs: ${options.logsDir}
xpack.security.enabled: false
# A development disk may be nearly full; a single node must still accept writes.
cluster.routing.allocation.disk.threshold_enabled: false
`;
}

export function elasticsearchJvmOptions(options: { heap: string }): string {
  return `# Written by \`peregrine stack up\`.
-Xms${options.heap}
-Xmx${options.heap}
-XX:-UsePerfData
`;
}

/** Major version from `java -version` output: `openjdk version "17.0.15"` -> 17, `"1.8.0_402"` -> 8. */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const m = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(versionOutput);
  if (!m) return undefined;
  const first = Number(m[1]);
  return first === 1 && m[2] ? Number(m[2]) : first;
}

/** Major version from a JDK's `release` file: `JAVA_VERSION="25.0.1"` -> 25. */
export function parseJavaRelease(release: string): number | undefined {
  const m = /^JAVA_VERSION="(\d+)(?:\.(\d+))?/m.exec(release);
  if (!m) return undefined;
  const first = Number(m[1]);
  return first === 1 && m[2] ? Number(m[2]) : first;
}

/** `go version go1.26.8 linux/amd64` -> [1, 26, 8]. */
export function parseGoVersion(output: string): [number, number, number] | undefined {
  const m = /go(\d+)\.(\d+)(?:\.(\d+))?/.exec(output);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

export function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The last `n` lines of a text (for error messages that quote a log). */
export function lastLines(text: string, n: number): string {
  const lines = text.replace(/\n+$/, '').split('\n');
  return lines.slice(Math.max(0, lines.length - n)).join('\n');
}
