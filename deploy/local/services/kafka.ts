import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { kafkaClusterId, kafkaJvmArgs, kafkaLog4j2Properties, kafkaServerProperties } from '../configs.ts';
import { kafkaHealth } from '../health.ts';
import { LOCAL_DIR, type StackPaths } from '../paths.ts';
import { javaForKafka, maven } from '../prereqs.ts';
import { recordFor, rotateLog, runLogged, spawnDetached } from '../proc.ts';
import { HOST, PORTS, VERSIONS } from '../versions.ts';
import { confinedEnv, ensureDirs, markerMatches, writeIfChanged, writeMarker, type Service } from './types.ts';

const installed = () => ({ kafka: VERSIONS.kafka, slf4j: VERSIONS.slf4jApi, log4j: VERSIONS.log4j });

/** Maven runs with its repository, temp files and JVM perf data inside the stack dir. */
export function mavenEnv(paths: StackPaths): NodeJS.ProcessEnv {
  return confinedEnv(paths, { MAVEN_OPTS: `-Djava.io.tmpdir=${paths.tmp} -XX:-UsePerfData -Xmx512m` });
}

export const kafka: Service = {
  name: 'kafka',
  version: VERSIONS.kafka,
  port: PORTS.kafka,
  url: `${HOST}:${PORTS.kafka}`,
  dependsOn: [],
  installKey: 'kafka',
  logFile: (paths) => join(paths.logs, 'kafka.log'),
  isInstalled: (paths) => markerMatches(paths.kafka.home, installed()) && existsSync(paths.kafka.libs),

  async install({ paths, progress }) {
    const mvn = maven();
    javaForKafka();
    ensureDirs(paths.tmp, paths.kafka.home);
    progress(`fetching Kafka ${VERSIONS.kafka} jars from Maven Central`);
    await runLogged(mvn, [
      '-B', '-f', join(LOCAL_DIR, 'kafka', 'pom.xml'),
      `-Dmaven.repo.local=${paths.maven}`,
      `-Dkafka.version=${VERSIONS.kafka}`, `-Dslf4j.version=${VERSIONS.slf4jApi}`, `-Dlog4j.version=${VERSIONS.log4j}`,
      `org.apache.maven.plugins:maven-dependency-plugin:${VERSIONS.mavenDependencyPlugin}:copy-dependencies`,
      '-DincludeScope=runtime', `-DoutputDirectory=${paths.kafka.libs}`, '-DoverWriteReleases=true',
    ], { env: mavenEnv(paths), cwd: paths.tmp, logFile: join(paths.logs, 'install-kafka.log'), onLine: progress, what: 'Kafka jar download', timeoutMs: 15 * 60_000 });
    // A different version left in libs/ would put two Kafkas on the classpath.
    const stale = readdirSync(paths.kafka.libs).filter((f) => /^kafka.*\.jar$/.test(f) && !f.includes(VERSIONS.kafka));
    if (stale.length > 0) throw new Error(`kafka: ${paths.kafka.libs} holds jars of another version (${stale.join(', ')}); remove the folder and retry`);
    writeMarker(paths.kafka.home, installed());
  },

  async start({ paths, progress }) {
    const java = javaForKafka();
    ensureDirs(paths.tmp, paths.kafka.config, paths.kafka.data, paths.kafka.logs);
    const serverProperties = join(paths.kafka.config, 'server.properties');
    const log4j = join(paths.kafka.config, 'log4j2.properties');
    writeIfChanged(serverProperties, kafkaServerProperties({ dataDir: paths.kafka.data }));
    writeIfChanged(log4j, kafkaLog4j2Properties());
    const jvm = kafkaJvmArgs({ heapMin: '256m', heapMax: '512m', tmpDir: paths.tmp, log4jConfig: log4j, logsDir: paths.kafka.logs });
    const classpath = ['-cp', `${paths.kafka.libs}/*`];
    const logFile = kafka.logFile(paths);
    rotateLog(logFile);
    if (!existsSync(join(paths.kafka.data, 'meta.properties'))) {
      progress('formatting KRaft storage');
      await runLogged(java.java, [...jvm, ...classpath, 'kafka.tools.StorageTool', 'format', '-t', kafkaClusterId(randomBytes), '-c', serverProperties], {
        env: confinedEnv(paths), cwd: paths.kafka.home, logFile, what: 'Kafka storage format', timeoutMs: 120_000,
      });
    }
    const { pid } = spawnDetached(java.java, [...jvm, ...classpath, 'kafka.Kafka', serverProperties], { env: confinedEnv(paths), cwd: paths.kafka.home, logFile });
    if (!pid) throw new Error(`kafka: could not start ${java.java}`);
    return recordFor('kafka', pid, VERSIONS.kafka, `java kafka.Kafka ${serverProperties}`);
  },

  health: () => kafkaHealth(`${HOST}:${PORTS.kafka}`),
};
