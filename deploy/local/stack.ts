/**
 * The local stack's programmatic API: `ensureStackUp`, `stackStatus`, `stackDown`, and the service URLs.
 * The CLI (cli.ts), the vitest globalSetup and the demo all go through here.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { Listr, type ListrTaskWrapper, type ListrDefaultRenderer, type ListrSimpleRenderer } from 'listr2';
import { PeregrineError, errorMessage } from '../../core/errors.ts';
import { lastLines } from './configs.ts';
import { stackPaths, type StackPaths } from './paths.ts';
import { isRecordAlive, procStat, readPidRecord, recordProcesses, removeFile, rssBytes, stopRecord, writePidRecord, type PidRecord } from './proc.ts';
import { elasticsearch } from './services/elasticsearch.ts';
import { jaegerCollector, jaegerQuery } from './services/jaeger.ts';
import { kafka } from './services/kafka.ts';
import { mlflow } from './services/mlflow.ts';
import { peregrineConsole } from './services/console.ts';
import { peregrineReceiver } from './services/receiver.ts';
import { SERVICE_NAMES, type Health, type Service, type ServiceName } from './services/types.ts';
import { allExpectedHealthy, type ServiceStatus } from './status-format.ts';
import { HOST, PORTS } from './versions.ts';

export { SERVICE_NAMES, type ServiceName, type ServiceStatus };

/** In dependency order: Kafka and Elasticsearch before the receivers and the Jaeger roles. */
export const SERVICES: Readonly<Record<ServiceName, Service>> = {
  kafka, elasticsearch, 'peregrine-receiver': peregrineReceiver, 'jaeger-collector': jaegerCollector, 'jaeger-query': jaegerQuery, mlflow,
  console: peregrineConsole,
};

/** Where the running stack answers. */
export const STACK_URLS = {
  kafkaBrokers: [`${HOST}:${PORTS.kafka}`],
  elasticsearch: `http://${HOST}:${PORTS.elasticsearch}`,
  otlpGrpc: `http://${HOST}:${PORTS.otlpGrpc}`,
  otlpHttp: `http://${HOST}:${PORTS.otlpHttp}`,
  otlpHttpTraces: `http://${HOST}:${PORTS.otlpHttp}/v1/traces`,
  jaegerQuery: `http://${HOST}:${PORTS.jaegerQuery}`,
  mlflow: `http://${HOST}:${PORTS.mlflow}`,
} as const;

/**
 * Who serves OTLP on 4317/4318: Peregrine's receiver (the default), the stock collector (the Jaeger binary in the
 * collector role, config in deploy/local/jaeger/collector.yaml like deploy/collector/otelcol.yaml), or nobody (you run
 * `peregrine run receiver` yourself, with your own configuration).
 */
export const FRONTENDS = ['peregrine', 'collector', 'none'] as const;
export type Frontend = (typeof FRONTENDS)[number];
export const DEFAULT_FRONTEND: Frontend = 'peregrine';

/** The stack service each front end runs. */
const FRONTEND_SERVICE: Record<Frontend, ServiceName | undefined> = { peregrine: 'peregrine-receiver', collector: 'jaeger-collector', none: undefined };
const FRONTEND_SERVICES = ['peregrine-receiver', 'jaeger-collector'] as const satisfies readonly ServiceName[];
const isOtherFrontend = (name: ServiceName, frontend: Frontend) => (FRONTEND_SERVICES as readonly ServiceName[]).includes(name) && FRONTEND_SERVICE[frontend] !== name;

export interface StackOptions {
  /** Defaults to $PEREGRINE_STACK_DIR or ~/.cache/peregrine/stack. */
  stackDir?: string;
}

export interface StackUpOptions extends StackOptions {
  /** Only these services (plus what they depend on). */
  only?: readonly ServiceName[];
  /** Who serves OTLP on 4317/4318 (see FRONTENDS). Default: the one the stack runs with, else `peregrine`. */
  frontend?: Frontend;
  /** Per service: how long to wait for it to turn healthy once started. Default 180. */
  timeoutS?: number;
  /** `auto`: live display on a terminal, plain lines otherwise. Default `auto`. */
  progress?: 'auto' | 'plain' | 'silent';
}

export interface StackStatus { healthy: boolean; services: ServiceStatus[] }

/** A service that failed to install, start or turn healthy; names it and its log. */
export class StackError extends PeregrineError {
  constructor(message: string, readonly failures: Array<{ service: ServiceName; message: string; logFile: string }>) {
    super(message, { retryable: false });
  }
}

interface StackState { services: ServiceName[]; frontend: Frontend; updatedAt: string }

const pidFile = (paths: StackPaths, name: ServiceName) => join(paths.run, `${name}.json`);

function readState(paths: StackPaths): StackState | undefined {
  try {
    return JSON.parse(readFileSync(paths.state, 'utf8')) as StackState;
  } catch {
    return undefined;
  }
}

function writeState(paths: StackPaths, state: Omit<StackState, 'updatedAt'>): void {
  mkdirSync(paths.run, { recursive: true });
  writeFileSync(paths.state, `${JSON.stringify({ ...state, updatedAt: new Date().toISOString() }, null, 2)}\n`);
}

/** The services to run: `only` (with their dependencies) or all, less the front ends other than `frontend`'s. */
export function selectServices(only: readonly ServiceName[] | undefined, frontend: Frontend): ServiceName[] {
  const wanted = new Set<ServiceName>();
  const add = (name: ServiceName) => {
    if (wanted.has(name)) return;
    wanted.add(name);
    for (const dep of SERVICES[name].dependsOn) add(dep);
  };
  for (const name of only && only.length > 0 ? only : SERVICE_NAMES) add(name);
  return SERVICE_NAMES.filter((n) => wanted.has(n) && !isOtherFrontend(n, frontend));
}

export function parseServiceNames(list: string): ServiceName[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of names) {
    if (!(SERVICE_NAMES as readonly string[]).includes(name)) {
      throw new PeregrineError(`unknown service "${name}": expected one of ${SERVICE_NAMES.join(', ')}`);
    }
  }
  return names as ServiceName[];
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    socket.setTimeout(500);
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
    socket.once('error', () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An exclusive lock file holding the owner's pid; a lock whose owner is gone is taken over. */
async function acquireLock(file: string, timeoutMs: number): Promise<() => void> {
  mkdirSync(dirname(file), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number(readFileSync(file, 'utf8').trim() || 0);
    if (!owner || !procStat(owner)) {
      rmSync(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new PeregrineError(`stack up: another \`stack up\` (pid ${owner}) holds ${file}`);
    await sleep(500);
  }
}

async function waitHealthy(service: Service, record: PidRecord, paths: StackPaths, timeoutMs: number): Promise<Health> {
  const deadline = Date.now() + timeoutMs;
  let last: Health = { healthy: false, detail: 'no answer yet' };
  for (;;) {
    last = await service.health();
    if (last.healthy) return last;
    if (recordProcesses(record).length === 0) {
      throw new Error(`${service.name} exited during start-up (last check: ${last.detail}); see ${service.logFile(paths)}\n${logTail(service, paths)}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`${service.name} not healthy after ${Math.round(timeoutMs / 1000)} s (last check: ${last.detail}); see ${service.logFile(paths)}\n${logTail(service, paths)}`);
    }
    await sleep(250);
  }
}

function logTail(service: Service, paths: StackPaths): string {
  try {
    return lastLines(readFileSync(service.logFile(paths), 'utf8'), 10);
  } catch {
    return '';
  }
}

type AnyTask = ListrTaskWrapper<unknown, ListrDefaultRenderer, ListrSimpleRenderer>;

/**
 * Installs what is missing and starts what is not healthy, in dependency order; a fast no-op when all the selected
 * services already answer. Resolves with the status; throws StackError naming each failed service and its log.
 */
export async function ensureStackUp(options: StackUpOptions = {}): Promise<StackStatus> {
  const paths = stackPaths(options.stackDir);
  const previous = readState(paths);
  // Not asked for one: keep the front end the stack runs with (the demo must not undo `stack up --frontend collector`).
  const frontend = options.frontend ?? (FRONTENDS.includes(previous?.frontend as Frontend) ? previous!.frontend : DEFAULT_FRONTEND);
  const selected = selectServices(options.only, frontend);
  const timeoutMs = (options.timeoutS ?? 180) * 1000;
  const remember = () => writeState(paths, {
    services: [...new Set([...(previous?.services ?? []).filter((s) => !isOtherFrontend(s, frontend)), ...selected])]
      .filter((s) => (SERVICE_NAMES as readonly string[]).includes(s)) as ServiceName[],
    frontend,
  });

  // One front end owns 4317/4318: another one we started earlier must go.
  const others = FRONTEND_SERVICES.filter((name) => isOtherFrontend(name, frontend));
  if (others.length > 0) await stackDown({ stackDir: options.stackDir, only: others });

  const initial = await Promise.all(selected.map((name) => SERVICES[name].health()));
  if (initial.every((h) => h.healthy)) {
    remember();
    return stackStatus(options);
  }

  mkdirSync(paths.tmp, { recursive: true });
  mkdirSync(paths.logs, { recursive: true });
  // Two `up`s at once (a test run and a shell) would both start Kafka; the second waits for the first.
  const release = await acquireLock(join(paths.run, 'up.lock'), timeoutMs + 30 * 60_000);
  try {
    return await startSelected(options, paths, selected, timeoutMs, remember);
  } finally {
    release();
  }
}

async function startSelected(
  options: StackUpOptions, paths: StackPaths, selected: ServiceName[], timeoutMs: number, remember: () => void,
): Promise<StackStatus> {
  const installs = new Map<string, Promise<void>>();
  const running = new Map<ServiceName, Promise<void>>();
  const failures: StackError['failures'] = [];
  const plain = options.progress === 'plain' || (options.progress !== 'silent' && !process.stdout.isTTY);

  const runService = async (service: Service, task: AnyTask): Promise<void> => {
    const started = Date.now();
    let lastShown = 0;
    const progress = (line: string) => {
      // Plain output (CI logs) gets a line at most every 10 s; a terminal shows every update in place.
      if (plain && Date.now() - lastShown < 10_000) return;
      lastShown = Date.now();
      task.output = `${service.name}: ${line}`;
    };
    const ctx = { paths, progress, timeoutMs };
    if ((await service.health()).healthy) {
      task.title = `${service.name}: already running`;
      return;
    }
    if (!service.isInstalled(paths)) {
      task.title = `${service.name}: installing`;
      let install = installs.get(service.installKey);
      if (!install) {
        const t0 = Date.now();
        install = service.install(ctx).then(() => { task.output = `${service.installKey}: installed in ${((Date.now() - t0) / 1000).toFixed(1)} s`; });
        installs.set(service.installKey, install);
      }
      await install;
    }
    for (const dep of service.dependsOn) {
      const depRun = running.get(dep);
      if (!depRun) continue;
      task.title = `${service.name}: waiting for ${dep}`;
      await depRun.catch(() => { throw new Error(`${service.name}: not started because ${dep} failed`); });
    }
    let record = readPidRecord(pidFile(paths, service.name));
    if (record && isRecordAlive(record)) {
      task.title = `${service.name}: waiting for the running process ${record.pid}`;
    } else {
      if (record) removeFile(pidFile(paths, service.name));
      if (await portAnswers(service.port)) {
        const hint = (FRONTEND_SERVICES as readonly ServiceName[]).includes(service.name) ? ' (if you run an OTLP receiver yourself, use --frontend none)' : '';
        throw new Error(`${service.name}: port ${service.port} is in use by a process the stack did not start${hint}`);
      }
      task.title = `${service.name}: starting`;
      const t0 = Date.now();
      record = await service.start(ctx);
      writePidRecord(pidFile(paths, service.name), record);
      task.title = `${service.name}: waiting for health (pid ${record.pid})`;
      const health = await waitHealthy(service, record, paths, timeoutMs);
      task.title = `${service.name}: healthy in ${((Date.now() - t0) / 1000).toFixed(1)} s (pid ${record.pid}, ${health.detail})`;
      return;
    }
    await waitHealthy(service, record, paths, timeoutMs);
    task.title = `${service.name}: healthy (pid ${record.pid}, ${((Date.now() - started) / 1000).toFixed(1)} s)`;
  };

  const tasks = selected.map((name) => ({
    title: name,
    task: (_ctx: unknown, task: AnyTask) => {
      const run = runService(SERVICES[name], task).catch((error: unknown) => {
        // Messages often start with the service's name already; say it once.
        const message = errorMessage(error).replace(new RegExp(`^${name}: `), '');
        failures.push({ service: name, message, logFile: SERVICES[name].logFile(paths) });
        throw new Error(message.split('\n')[0]);
      });
      running.set(name, run);
      return run;
    },
  }));

  const renderer = options.progress === 'silent' ? 'silent' : plain ? 'simple' : 'default';
  const list = new Listr(tasks, { concurrent: true, exitOnError: false, renderer, rendererOptions: { collapseErrors: false } } as never);
  await list.run();
  remember();
  if (failures.length > 0) {
    const detail = failures.map((f) => `- ${f.service}: ${f.message}`).join('\n');
    throw new StackError(`stack up failed for ${failures.map((f) => f.service).join(', ')}:\n${detail}`, failures);
  }
  return stackStatus(options);
}

/** Health, pid, port, version and memory of every service; `healthy` when each expected one is. */
export async function stackStatus(options: StackOptions = {}): Promise<StackStatus> {
  const paths = stackPaths(options.stackDir);
  const state = readState(paths);
  // Nothing recorded (never started, or all stopped): every service is expected, so status says "stopped" and fails.
  const expected = new Set<ServiceName>(state?.services?.length ? state.services : SERVICE_NAMES);
  const services = await Promise.all(SERVICE_NAMES.map(async (name): Promise<ServiceStatus> => {
    const service = SERVICES[name];
    const record = readPidRecord(pidFile(paths, name));
    const pids = record ? recordProcesses(record) : [];
    const health = await service.health();
    const running = pids.length > 0 || health.healthy;
    return {
      service: name,
      pid: record && isRecordAlive(record) ? record.pid : undefined,
      port: service.port,
      url: service.url,
      health: health.healthy ? 'healthy' : running ? 'unhealthy' : expected.has(name) ? 'stopped' : 'not started',
      detail: health.healthy ? (record ? health.detail : `${health.detail} (not started by stack up)`) : health.detail,
      version: record?.version ?? service.version,
      rssBytes: pids.reduce((sum, pid) => sum + rssBytes(pid), 0),
      expected: expected.has(name),
    };
  }));
  return { healthy: allExpectedHealthy(services), services };
}

/** How long each service gets between SIGTERM and SIGKILL. */
const GRACE_MS: Record<ServiceName, number> = {
  kafka: 30_000, elasticsearch: 30_000, 'peregrine-receiver': 15_000, 'jaeger-collector': 10_000, 'jaeger-query': 10_000, mlflow: 15_000, console: 10_000,
};

/**
 * Stops exactly the processes `ensureStackUp` started (by pidfile and their session), dependents first,
 * and verifies none remain. Throws when one survives SIGKILL.
 */
export async function stackDown(options: StackOptions & { only?: readonly ServiceName[] } = {}): Promise<{ stopped: ServiceName[] }> {
  const paths = stackPaths(options.stackDir);
  const names = [...(options.only && options.only.length > 0 ? options.only : SERVICE_NAMES)].reverse();
  const stopped: ServiceName[] = [];
  const survivors: string[] = [];
  // Dependents (the receiver, Jaeger and the console, Kafka clients) first, then the rest together.
  const dependent = (n: ServiceName) => n.startsWith('jaeger') || n === 'peregrine-receiver' || n === 'console';
  const waves = [names.filter(dependent), names.filter((n) => !dependent(n))];
  for (const wave of waves) {
    await Promise.all(wave.map(async (name) => {
      const record = readPidRecord(pidFile(paths, name));
      if (!record) return;
      const left = await stopRecord(record, GRACE_MS[name]);
      if (left.length > 0) {
        survivors.push(`${name}: pids ${left.join(', ')}`);
        return;
      }
      removeFile(pidFile(paths, name));
      stopped.push(name);
    }));
  }
  if (survivors.length > 0) throw new PeregrineError(`stack down: processes survived SIGKILL: ${survivors.join('; ')}`);
  const state = readState(paths);
  if (state) {
    writeState(paths, { ...state, services: state.services.filter((s) => !names.includes(s)) });
  }
  return { stopped };
}

export function stackLogFile(name: ServiceName, options: StackOptions = {}): string {
  return SERVICES[name].logFile(stackPaths(options.stackDir));
}
