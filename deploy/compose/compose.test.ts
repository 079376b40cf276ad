import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { AppConfig } from '../../app/config.ts';
import { JAEGER_V2_RELEASE, VERSIONS } from '../local/versions.ts';
import { configForEnv } from '../testing/config-env.ts';
import { dockerignore, interpolate, interpolateAll, loadedFiles } from '../testing/compose.ts';

const REPO = new URL('../../', import.meta.url).pathname;
const here = (f: string) => new URL(`./${f}`, import.meta.url).pathname;
const PACKAGE_VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

interface Service {
  image: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  user?: string;
  read_only?: boolean;
  tmpfs?: string[];
  cap_drop?: string[];
  privileged?: boolean;
  environment?: Record<string, string>;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

// What `docker compose up` would see with the one required variable set.
const VARS = { PEREGRINE_CONSOLE_TOKEN: 'a-console-token-of-some-length' };
const compose = interpolateAll(parseYaml(readFileSync(here('compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> }, VARS);
const services = compose.services;
const peregrine = Object.entries(services).filter(([, s]) => s.image.startsWith('peregrine:'));
const defaults = AppConfig.parse({});

/** The ports a Peregrine process listens on, by its command, from the configuration it would run with. */
function listeningPorts(command: string[], config: AppConfig & { console?: { port: number } }): number[] {
  if (command[0] === 'console') return config.console ? [config.console.port] : [];
  const stages = command.slice(1);
  return [config.metrics.port, ...(stages.includes('receiver') ? [config.receiver.http.port, config.receiver.grpc.port] : [])];
}

const containerPort = (spec: string) => Number(spec.split(':').at(-1)!.split('/')[0]);

describe('deploy/compose/compose.yaml', () => {
  it('runs Kafka (KRaft), Elasticsearch, Jaeger, MLflow and the receiver, features, detectors, findings and console', () => {
    expect(Object.keys(services).sort()).toEqual(['console', 'detectors', 'elasticsearch', 'features', 'findings', 'jaeger', 'kafka', 'mlflow', 'receiver']);
    expect(services.kafka!.environment).toMatchObject({ KAFKA_PROCESS_ROLES: 'broker,controller', KAFKA_CONTROLLER_QUORUM_VOTERS: '1@kafka:9093' });
    expect(peregrine.map(([, s]) => s.command!.join(' ')).sort()).toEqual(['console', 'run detectors', 'run features', 'run findings', 'run receiver']);
  });

  it('pins every image by version: the servers at the local stack\'s versions, Peregrine at package.json\'s', () => {
    for (const [name, s] of Object.entries(services)) {
      expect(s.image, name).toMatch(/^[a-z0-9./-]+:v?\d+\.\d+\.\d+$/);
      expect(s.image, name).not.toMatch(/:latest$/);
    }
    expect(services.kafka!.image).toBe(`apache/kafka:${VERSIONS.kafka}`);
    expect(services.elasticsearch!.image).toBe(`docker.elastic.co/elasticsearch/elasticsearch:${VERSIONS.elasticsearch}`);
    expect(services.jaeger!.image).toBe(`jaegertracing/jaeger:${JAEGER_V2_RELEASE}`);
    expect(services.mlflow!.image).toBe(`ghcr.io/mlflow/mlflow:v${VERSIONS.mlflow}`);
    for (const [name, s] of peregrine) expect(s.image, name).toBe(`peregrine:${PACKAGE_VERSION}`);
  });

  it('runs Peregrine as a non-root user on a read-only root filesystem, without capabilities', () => {
    for (const [name, s] of peregrine) {
      expect(s.user, name).toMatch(/^[1-9]\d*:[1-9]\d*$/);
      expect(s.read_only, name).toBe(true);
      expect(s.tmpfs, name).toContain('/tmp');
      expect(s.cap_drop, name).toEqual(['ALL']);
      expect(s.privileged, name).toBeUndefined();
      expect(s.build, name).toEqual({ context: '../..', dockerfile: 'deploy/compose/Dockerfile' });
    }
  });

  it('every PEREGRINE__ variable is a configuration key with a valid value', () => {
    const pending: string[] = [];
    for (const [name, s] of peregrine) {
      let checked;
      try {
        checked = configForEnv(s.environment ?? {});
      } catch (e) {
        throw new Error(`service ${name}: ${(e as Error).message}`);
      }
      pending.push(...checked.pending.map((v) => `${name}: ${v}`));
      expect(checked.config.kafka.brokers, name).toEqual(['kafka:9092']);
    }
    if (pending.length) console.warn(`compose: not checked until the schema has their section: ${pending.join(', ')}`);
    // A misspelt key is refused, naming it.
    expect(() => configForEnv({ PEREGRINE__METRICS__PROT: '9464' })).toThrow(/metrics\.PROT: unknown key/);
  });

  it('every port a Peregrine service publishes, exposes or probes is one its configuration listens on, at the default', () => {
    for (const [name, s] of peregrine) {
      const { config, pending } = configForEnv(s.environment ?? {});
      const listening = listeningPorts(s.command!, config);
      if (listening.length === 0 && pending.length) {
        // The console's port comes from its section; until the schema has it, the documented default.
        listening.push(9470);
      }
      const probed = Number(/127\.0\.0\.1:(\d+)\/healthz/.exec(s.healthcheck!.test.join(' '))?.[1]);
      const declared = [...(s.ports ?? []).map(containerPort), ...(s.expose ?? []).map(Number), probed];
      for (const port of declared) expect(listening, `${name} port ${port}`).toContain(port);
      for (const port of listening) expect(declared, `${name} listens on ${port}`).toContain(port);
    }
    const ingest = configForEnv(services.receiver!.environment!).config;
    expect([ingest.receiver.grpc.port, ingest.receiver.http.port, ingest.metrics.port]).toEqual([defaults.receiver.grpc.port, defaults.receiver.http.port, defaults.metrics.port]);
    for (const [, s] of peregrine.filter(([, x]) => x.command![0] === 'run')) expect(configForEnv(s.environment!).config.metrics).toMatchObject({ host: '0.0.0.0', port: defaults.metrics.port });
  });

  it('every server a Peregrine service reaches is a service it depends on, on a port that service declares', () => {
    const declaredPorts = (service: string) => [...(services[service]!.ports ?? []).map(containerPort), ...(services[service]!.expose ?? []).map(Number)];
    for (const [name, s] of peregrine) {
      const { config } = configForEnv(s.environment ?? {});
      const used = { console: ['kafka', 'elasticsearch', 'jaeger'], detectors: ['kafka', 'mlflow'], findings: ['kafka', 'elasticsearch'] }[s.command!.at(-1)!] ?? ['kafka'];
      const addresses: Record<string, string> = {
        kafka: `//${config.kafka.brokers[0]}`, elasticsearch: config.elasticsearch.url, jaeger: config.jaeger.queryUrl, mlflow: config.mlflow.url,
      };
      for (const server of used) {
        const url = new URL(addresses[server]!.startsWith('//') ? `kafka:${addresses[server]}` : addresses[server]!);
        expect(url.hostname, `${name} → ${server}`).toBe(server);
        expect(declaredPorts(server), `${name} → ${server}:${url.port}`).toContain(Number(url.port));
        expect(Object.keys(s.depends_on ?? {}), `${name} depends on ${server}`).toContain(server);
      }
    }
  });

  it('publishes ports on the loopback only, and names its volumes', () => {
    for (const [name, s] of Object.entries(services)) for (const p of s.ports ?? []) expect(p, name).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    const named = Object.values(services).flatMap((s) => s.volumes ?? []).map((v) => v.split(':')[0]!).filter((v) => !v.startsWith('.'));
    expect(named.sort()).toEqual(Object.keys(compose.volumes).sort());
    for (const bind of Object.values(services).flatMap((s) => s.volumes ?? []).filter((v) => v.startsWith('.'))) expect(existsSync(here(bind.split(':')[0]!)), bind).toBe(true);
  });

  it('Jaeger reads the spans topic of the default configuration from the compose Kafka into its Elasticsearch', () => {
    const jaeger = parseYaml(readFileSync(here('jaeger.yaml'), 'utf8')) as { receivers: { kafka: { brokers: string[]; traces: { topic: string; encoding: string } } }; extensions: { jaeger_storage: { backends: { es_main: { elasticsearch: { server_urls: string[] } } } }; jaeger_query: { http: { endpoint: string } } } };
    expect(jaeger.receivers.kafka.brokers).toEqual(configForEnv(services.receiver!.environment!).config.kafka.brokers);
    expect(jaeger.receivers.kafka.traces).toEqual({ topic: defaults.topics.spans, encoding: 'otlp_proto' });
    expect(jaeger.extensions.jaeger_storage.backends.es_main.elasticsearch.server_urls).toEqual([configForEnv(services.findings!.environment!).config.elasticsearch.url]);
    expect(new URL(configForEnv(services.detectors!.environment!).config.jaeger.queryUrl).port).toBe(jaeger.extensions.jaeger_query.http.endpoint.split(':')[1]);
  });
});

describe('deploy/compose/Dockerfile', () => {
  const dockerfile = readFileSync(here('Dockerfile'), 'utf8');
  const instructions = dockerfile.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
  const args = Object.fromEntries([...dockerfile.matchAll(/^ARG (\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  const stages = instructions.filter((l) => l.startsWith('FROM ')).map((l) => interpolate(l.split(/\s+/)[1]!, args));

  it('is multi-stage from version-pinned images, on the Node the project pins', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const image of stages) expect(image).toMatch(/^[a-z0-9./-]+:\d+\.\d+\.\d+[\w.-]*$/);
    const node = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies.node;
    expect(stages.at(-1)).toBe(`node:${node}-bookworm-slim`);
  });

  it('runs as a non-root numeric user, with the peregrine command as entry point', () => {
    const final = instructions.slice(instructions.findLastIndex((l) => l.startsWith('FROM ')));
    const users = final.filter((l) => l.startsWith('USER '));
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).toMatch(/^USER [1-9]\d*:[1-9]\d*$/);
    expect(final).toContain('ENTRYPOINT ["node", "bin/peregrine.js"]');
    for (const [, s] of peregrine) expect(s.user).toBe(users.at(-1)!.slice('USER '.length));
  });

  it('keeps every file the peregrine command loads, and the sensor sources it builds, in the build context', () => {
    const ignored = dockerignore(readFileSync(here('Dockerfile.dockerignore'), 'utf8'));
    // node_modules comes from the deps stage, not the context (bin/peregrine.js names the project's own Node, which
    // it runs only on a Node older than the image's).
    const loaded = [...loadedFiles(REPO, 'bin/peregrine.js')].filter((f) => !f.startsWith('node_modules/'));
    expect(loaded).toContain('app/cli/main.ts');
    expect(loaded.length).toBeGreaterThan(100);
    expect(loaded.filter((f) => !existsSync(join(REPO, f)))).toEqual([]);
    expect(loaded.filter(ignored)).toEqual([]);
    for (const copied of ['package.json', 'package-lock.json', 'ebpf/Makefile', 'ebpf/bpf/sensor.bpf.c', 'ebpf/loader/loader.c']) expect(ignored(copied), copied).toBe(false);
    // ...and leaves tests and local state out.
    for (const left of ['core/config.test.ts', 'app/testing/pipeline.ts', 'node_modules/x/index.js', '.git/HEAD', 'ebpf/build/vmlinux.h']) expect(ignored(left), left).toBe(true);
  });
});
