import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { httpHealth } from '../health.ts';
import { LOCAL_DIR, type StackPaths } from '../paths.ts';
import { go } from '../prereqs.ts';
import { recordFor, rotateLog, runLogged, spawnDetached } from '../proc.ts';
import { HOST, PORTS, VERSIONS } from '../versions.ts';
import { confinedEnv, ensureDirs, markerMatches, writeMarker, type Service, type ServiceName } from './types.ts';

const MODULE_DIR = join(LOCAL_DIR, 'jaeger');
const JAEGER_PACKAGE = 'github.com/jaegertracing/jaeger';

/** go.mod + go.sum decide what gets built: a change to either rebuilds. */
function moduleFingerprint(): string {
  const hash = createHash('sha256');
  for (const f of ['go.mod', 'go.sum']) hash.update(readFileSync(join(MODULE_DIR, f)));
  return hash.digest('hex').slice(0, 16);
}

const expectedMarker = () => ({ jaeger: VERSIONS.jaeger, module: moduleFingerprint() });

/** Go's module cache, build cache and temp files all inside the stack dir. */
export function goEnv(paths: StackPaths): NodeJS.ProcessEnv {
  const root = paths.jaeger.go;
  return confinedEnv(paths, {
    GOPATH: root, GOMODCACHE: join(root, 'pkg', 'mod'), GOCACHE: join(root, 'cache'), GOTMPDIR: paths.tmp,
    GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly -buildvcs=false',
  });
}

async function installJaeger({ paths, progress }: { paths: StackPaths; progress: (line: string) => void }): Promise<void> {
  const goBin = go();
  const goMod = readFileSync(join(MODULE_DIR, 'go.mod'), 'utf8');
  if (!goMod.includes(`${JAEGER_PACKAGE} v${VERSIONS.jaeger}`)) {
    throw new Error(`jaeger: ${join(MODULE_DIR, 'go.mod')} does not require ${JAEGER_PACKAGE} v${VERSIONS.jaeger} (deploy/local/versions.ts); update one to match the other`);
  }
  ensureDirs(paths.tmp, paths.jaeger.home, paths.jaeger.go);
  const logFile = join(paths.logs, 'install-jaeger.log');
  // An interrupted build leaves its work folders behind (`up` holds a lock, so none is in use now).
  for (const name of readdirSync(paths.tmp)) if (name.startsWith('go-build')) rmSync(join(paths.tmp, name), { recursive: true, force: true });
  // `go build` fetches the modules it needs (~1.3 GB, first run only); -v names each package as it compiles.
  progress(`downloading modules and building jaeger v${VERSIONS.jaeger} (several minutes when cold)`);
  const versionPkg = `${JAEGER_PACKAGE}/internal/version`;
  const ldflags = `-s -w -X ${versionPkg}.latestVersion=v${VERSIONS.jaeger} -X ${versionPkg}.commitSHA=v${VERSIONS.jaeger}`;
  await runLogged(goBin, ['build', '-v', '-trimpath', '-ldflags', ldflags, '-o', paths.jaeger.binary, `${JAEGER_PACKAGE}/cmd/jaeger`], {
    env: goEnv(paths), cwd: MODULE_DIR, logFile, onLine: progress, what: 'Jaeger build', timeoutMs: 40 * 60_000,
  });
  writeMarker(paths.jaeger.home, expectedMarker());
}

function jaegerRole(options: { name: ServiceName; config: string; port: number; url: string; healthPort: number; dependsOn: ServiceName[] }): Service {
  const service: Service = {
    name: options.name,
    version: VERSIONS.jaeger,
    port: options.port,
    url: options.url,
    dependsOn: options.dependsOn,
    installKey: 'jaeger',
    logFile: (paths) => join(paths.logs, `${options.name}.log`),
    isInstalled: (paths) => existsSync(paths.jaeger.binary) && markerMatches(paths.jaeger.home, expectedMarker()),
    install: installJaeger,
    async start({ paths }) {
      const logFile = service.logFile(paths);
      rotateLog(logFile);
      const config = join(MODULE_DIR, options.config);
      const { pid } = spawnDetached(paths.jaeger.binary, ['--config', config], { env: confinedEnv(paths), cwd: paths.jaeger.home, logFile });
      if (!pid) throw new Error(`${options.name}: could not start ${paths.jaeger.binary}`);
      return recordFor(options.name, pid, VERSIONS.jaeger, `jaeger --config ${config}`);
    },
    // healthcheckv2 answers 200 on /status once every pipeline and extension reports OK.
    health: () => httpHealth(`http://${HOST}:${options.healthPort}/status`),
  };
  return service;
}

/** OTLP in (4317 gRPC, 4318 HTTP) -> Kafka otlp_spans/otlp_metrics/otlp_logs. */
export const jaegerCollector = jaegerRole({
  name: 'jaeger-collector', config: 'collector.yaml', port: PORTS.otlpHttp, url: `http://${HOST}:${PORTS.otlpHttp}`,
  healthPort: PORTS.jaegerCollectorHealth, dependsOn: ['kafka'],
});

/** Kafka otlp_spans -> Elasticsearch; query API on 16686. */
export const jaegerQuery = jaegerRole({
  name: 'jaeger-query', config: 'query.yaml', port: PORTS.jaegerQuery, url: `http://${HOST}:${PORTS.jaegerQuery}`,
  healthPort: PORTS.jaegerQueryHealth, dependsOn: ['kafka', 'elasticsearch'],
});
