/** Finds the runtimes the stack needs, or says exactly what to install. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { PeregrineError } from '../../core/errors.ts';
import { compareVersions, parseGoVersion, parseJavaMajor, parseJavaRelease } from './configs.ts';
import { PREREQUISITES } from './versions.ts';

export class MissingPrerequisiteError extends PeregrineError {
  constructor(message: string) {
    super(message, { retryable: false });
  }
}

/** stdout+stderr of a command (`java -version` writes to stderr), or undefined when it cannot be run. */
function capture(command: string, args: string[]): string | undefined {
  // No JVM perf data: it would land in /tmp/hsperfdata_<user>.
  const env = { ...process.env, MAVEN_OPTS: `${process.env.MAVEN_OPTS ?? ''} -XX:-UsePerfData`.trim() };
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'], env });
  if (r.error) return undefined;
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

export interface JavaHome { home: string; java: string; major: number }

function javaMajorOfHome(home: string): number | undefined {
  const java = join(home, 'bin', 'java');
  if (!existsSync(java)) return undefined;
  try {
    const fromRelease = parseJavaRelease(readFileSync(join(home, 'release'), 'utf8'));
    if (fromRelease) return fromRelease;
  } catch {
    // No release file: ask the binary.
  }
  const out = capture(java, ['-XX:-UsePerfData', '-version']);
  return out ? parseJavaMajor(out) : undefined;
}

/** The JDK home of the `java` on PATH (resolving /usr/bin/java -> /usr/lib/jvm/...). */
function pathJavaHome(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = join(dir, 'java');
    if (existsSync(candidate)) return dirname(dirname(realpathSync(candidate)));
  }
  return undefined;
}

function candidateJavaHomes(preferred: Array<string | undefined>): string[] {
  const homes = preferred.filter((h): h is string => Boolean(h));
  try {
    for (const name of readdirSync('/usr/lib/jvm').sort().reverse()) homes.push(join('/usr/lib/jvm', name));
  } catch {
    // No /usr/lib/jvm.
  }
  const path = pathJavaHome();
  if (path) homes.push(path);
  return [...new Set(homes)];
}

/** The first JDK of at least `minMajor`, trying the preferred homes first, then /usr/lib/jvm/*, then PATH. */
export function findJava(minMajor: number, preferred: Array<string | undefined>): JavaHome | undefined {
  for (const home of candidateJavaHomes(preferred)) {
    const major = javaMajorOfHome(home);
    if (major !== undefined && major >= minMajor) return { home, java: join(home, 'bin', 'java'), major };
  }
  return undefined;
}

export function javaForKafka(): JavaHome {
  const found = findJava(PREREQUISITES.javaForKafka, [process.env.JAVA_HOME]);
  if (!found) {
    throw new MissingPrerequisiteError(
      `Kafka needs Java >= ${PREREQUISITES.javaForKafka}: install a JDK/JRE (Debian: apt-get install -y openjdk-17-jre-headless) or set JAVA_HOME`,
    );
  }
  return found;
}

export function javaForElasticsearch(): JavaHome {
  const found = findJava(PREREQUISITES.javaForElasticsearch, [process.env.ES_JAVA_HOME, '/usr/lib/jvm/temurin-25-jdk-amd64', process.env.JAVA_HOME]);
  if (!found) {
    throw new MissingPrerequisiteError(
      `Elasticsearch needs Java >= ${PREREQUISITES.javaForElasticsearch}: install a JDK 21+ (e.g. temurin-21-jdk or openjdk-21-jdk-headless) and set ES_JAVA_HOME to it`,
    );
  }
  return found;
}

export function maven(): string {
  const out = capture('mvn', ['-v']);
  if (!out || !/Apache Maven/.test(out)) throw new MissingPrerequisiteError('Kafka and Elasticsearch are fetched with Maven: install it (Debian: apt-get install -y maven)');
  return 'mvn';
}

export function go(): string {
  const out = capture('go', ['version']);
  const version = out ? parseGoVersion(out) : undefined;
  const min = PREREQUISITES.go.split('.').map(Number);
  if (!version || compareVersions(version, min) < 0) {
    throw new MissingPrerequisiteError(
      `Jaeger is built from source with Go >= ${PREREQUISITES.go}${version ? ` (found ${version.join('.')})` : ''}: install Go (https://go.dev/doc/install) and put it on PATH`,
    );
  }
  return 'go';
}

export function python(): string {
  const out = capture('python3', ['-c', 'import sys, venv, ensurepip; print("%d.%d" % sys.version_info[:2])']);
  const version = out?.trim().match(/^(\d+)\.(\d+)$/m);
  if (!version) {
    throw new MissingPrerequisiteError('MLflow is installed into a virtualenv: install Python 3 with venv (Debian: apt-get install -y python3 python3-venv)');
  }
  if (compareVersions([Number(version[1]), Number(version[2])], PREREQUISITES.python.split('.').map(Number)) < 0) {
    throw new MissingPrerequisiteError(`MLflow 3.x needs Python >= ${PREREQUISITES.python} (found ${version[1]}.${version[2]})`);
  }
  return 'python3';
}
