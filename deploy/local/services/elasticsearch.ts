import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync, statSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { elasticsearchJvmOptions, elasticsearchYml, lastLines } from '../configs.ts';
import { elasticsearchHealth } from '../health.ts';
import type { StackPaths } from '../paths.ts';
import { javaForElasticsearch, maven } from '../prereqs.ts';
import { recordFor, rotateLog, runLogged, spawnDetached } from '../proc.ts';
import { HOST, PORTS, VERSIONS } from '../versions.ts';
import { mavenEnv } from './kafka.ts';
import { confinedEnv, ensureDirs, markerMatches, writeIfChanged, writeMarker, type Service } from './types.ts';

/** Elasticsearch refuses to run as root; as root we run it as this unprivileged system user. */
export const ES_USER = process.env.PEREGRINE_STACK_ES_USER || 'peregrine';

const distHome = (paths: StackPaths) => join(paths.elasticsearch.dist, `elasticsearch-${VERSIONS.elasticsearch}`);
const pidFile = (paths: StackPaths) => join(paths.elasticsearch.run, 'elasticsearch.pid');
const launcherLog = (paths: StackPaths) => join(paths.logs, 'elasticsearch-launcher.log');
const isRoot = () => process.getuid?.() === 0;

function ensureUser(): void {
  if (spawnSync('id', ['-u', ES_USER]).status === 0) return;
  execFileSync('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', '--user-group', ES_USER], { stdio: 'pipe' });
}

function userCan(test: string[], ): boolean {
  return spawnSync('runuser', ['-u', ES_USER, '--', 'test', ...test]).status === 0;
}

/**
 * The ES user must reach files under the stack dir. Under /root (mode 700) it cannot: give the folders on the
 * way search permission only (o+x: enter, not list), which is what the user needs and nothing more.
 */
function ensureTraversal(target: string, progress: (line: string) => void): void {
  if (userCan(['-r', target])) return;
  const chain: string[] = [];
  for (let dir = dirname(target); ; dir = dirname(dir)) {
    chain.unshift(dir);
    if (dir === dirname(dir)) break;
  }
  for (const dir of chain) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) {
      progress(`chmod o+x ${dir} (so user ${ES_USER} can reach the stack dir)`);
      chmodSync(dir, (mode & 0o7777) | 0o001);
    }
  }
  if (!userCan(['-r', target])) throw new Error(`elasticsearch: user ${ES_USER} cannot read ${target}; set PEREGRINE_STACK_DIR to a folder it can reach`);
}

async function unzip(zip: string, into: string, paths: StackPaths, progress: (line: string) => void): Promise<void> {
  const logFile = join(paths.logs, 'install-elasticsearch.log');
  if (spawnSync('unzip', ['-v']).status === 0) {
    await runLogged('unzip', ['-q', '-o', zip, '-d', into], { logFile, what: 'Elasticsearch unzip', onLine: progress });
    return;
  }
  // No unzip: Python's zipfile, keeping the executable bits the archive records.
  const script = 'import sys,zipfile,os\nz=zipfile.ZipFile(sys.argv[1])\nfor i in z.infolist():\n  p=z.extract(i,sys.argv[2])\n  m=i.external_attr>>16\n  if m: os.chmod(p,m&0o7777)\n';
  await runLogged('python3', ['-c', script, zip, into], { logFile, what: 'Elasticsearch unzip', onLine: progress });
}

export const elasticsearch: Service = {
  name: 'elasticsearch',
  version: VERSIONS.elasticsearch,
  port: PORTS.elasticsearch,
  url: `http://${HOST}:${PORTS.elasticsearch}`,
  dependsOn: [],
  installKey: 'elasticsearch',
  logFile: (paths) => join(paths.elasticsearch.logs, 'peregrine-stack.log'),
  isInstalled: (paths) => markerMatches(paths.elasticsearch.home, { elasticsearch: VERSIONS.elasticsearch }) && existsSync(join(distHome(paths), 'bin', 'elasticsearch')),

  async install({ paths, progress }) {
    const mvn = maven();
    javaForElasticsearch();
    ensureDirs(paths.tmp, paths.elasticsearch.dist);
    const artifact = `org.elasticsearch.distribution.integ-test-zip:elasticsearch:${VERSIONS.elasticsearch}:zip`;
    progress(`fetching ${artifact} (132 MB) from Maven Central`);
    // Exact version: the artifact's metadata lists no 9.x, so ranges and LATEST never find it.
    await runLogged(mvn, ['-B', `-Dmaven.repo.local=${paths.maven}`, `org.apache.maven.plugins:maven-dependency-plugin:${VERSIONS.mavenDependencyPlugin}:get`, `-Dartifact=${artifact}`, '-Dtransitive=false'], {
      env: mavenEnv(paths), cwd: paths.tmp, logFile: join(paths.logs, 'install-elasticsearch.log'), onLine: progress, what: 'Elasticsearch download', timeoutMs: 20 * 60_000,
    });
    const zip = join(paths.maven, 'org/elasticsearch/distribution/integ-test-zip/elasticsearch', VERSIONS.elasticsearch, `elasticsearch-${VERSIONS.elasticsearch}.zip`);
    rmSync(distHome(paths), { recursive: true, force: true });
    progress('unpacking');
    await unzip(zip, paths.elasticsearch.dist, paths, progress);
    writeMarker(paths.elasticsearch.home, { elasticsearch: VERSIONS.elasticsearch });
  },

  async start({ paths, progress, timeoutMs }) {
    const java = javaForElasticsearch();
    const es = paths.elasticsearch;
    ensureDirs(es.config, es.data, es.logs, es.tmp, es.run, paths.logs);
    // Our own config dir (ES writes its keystore there), seeded from the distribution's defaults.
    if (!existsSync(join(es.config, 'jvm.options'))) cpSync(join(distHome(paths), 'config'), es.config, { recursive: true });
    writeIfChanged(join(es.config, 'elasticsearch.yml'), elasticsearchYml({ dataDir: es.data, logsDir: es.logs }));
    writeIfChanged(join(es.config, 'jvm.options.d', 'peregrine.options'), elasticsearchJvmOptions({ heap: '512m' }));
    rmSync(pidFile(paths), { force: true });
    rotateLog(launcherLog(paths));

    // CLI_JAVA_OPTS / JAVA_TOOL_OPTIONS: the launcher's JVMs (version check, flag probe, CLI) otherwise write
    // final-flags* and hsperfdata_* under /tmp.
    const env = [`ES_JAVA_HOME=${java.home}`, `ES_PATH_CONF=${es.config}`, `ES_TMPDIR=${es.tmp}`, `TMPDIR=${es.tmp}`, `HOME=${es.tmp}`, 'ES_JAVA_OPTS=', `CLI_JAVA_OPTS=-Djava.io.tmpdir=${es.tmp} -XX:-UsePerfData`, 'JAVA_TOOL_OPTIONS=-XX:-UsePerfData'];
    const launcher = [join(distHome(paths), 'bin', 'elasticsearch'), '-d', '-p', pidFile(paths)];
    let command: string;
    let args: string[];
    if (isRoot()) {
      ensureUser();
      execFileSync('chown', ['-R', `${ES_USER}:`, es.config, es.data, es.logs, es.tmp, es.run]);
      ensureTraversal(join(distHome(paths), 'bin', 'elasticsearch'), progress);
      command = 'runuser';
      args = ['-u', ES_USER, '--', 'env', ...env, ...launcher];
    } else {
      command = 'env';
      args = [...env, ...launcher];
    }
    progress('starting (the launcher returns once the node runs)');
    // setsid (detached): started with -d it otherwise stays in our process group and dies with the caller.
    const { pid, exited } = spawnDetached(command, args, { env: confinedEnv(paths), cwd: es.home, logFile: launcherLog(paths) });
    if (!pid) throw new Error(`elasticsearch: could not run ${command}`);
    // A ref'd timer: it also keeps the event loop alive while the (unref'd) launcher runs.
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); })]);
    clearTimeout(timer);
    if (code !== 0 || !existsSync(pidFile(paths))) {
      const log = existsSync(launcherLog(paths)) ? lastLines(readFileSync(launcherLog(paths), 'utf8'), 15) : '';
      throw new Error(`elasticsearch: launcher exited with ${code}; see ${launcherLog(paths)} and ${elasticsearch.logFile(paths)}\n${log}`);
    }
    const serverPid = Number(readFileSync(pidFile(paths), 'utf8').trim());
    return recordFor('elasticsearch', serverPid, VERSIONS.elasticsearch, `elasticsearch (user ${isRoot() ? ES_USER : 'current'})`);
  },

  health: () => elasticsearchHealth(`http://${HOST}:${PORTS.elasticsearch}`),
};
