/**
 * The chart rendered by a real Helm v4 (`helm lint --strict`, `helm template`) for several value sets, every object
 * decoded strictly into the Kubernetes API Go types (validate/, unknown fields refused), and each Peregrine container
 * checked against the configuration schema: the ConfigMap plus its environment load as the process would load them,
 * its ports are the ones that configuration listens on, its probes hit /healthz there. Helm and the validator are
 * built with Go on first use (the Go module proxy; several minutes cold) and cached in the stack dir.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify as stringifyYaml } from 'yaml';
import type { AppConfig } from '../../app/config.ts';
import { configForEnv } from '../testing/config-env.ts';
import { helmBinary, k8sValidator } from './tools.ts';

const CHART = new URL('./peregrine/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'peregrine-helm-'));
let helm: string;
let validator: string;

beforeAll(async () => {
  const progress = (line: string) => process.stderr.write(`helm test: ${line}\n`);
  helm = await helmBinary(progress);
  validator = await k8sValidator(progress);
}, 50 * 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Obj = Record<string, any>;
interface Container { name: string; args: string[]; env?: Obj[]; ports?: Array<{ name: string; containerPort: number }>; securityContext: Obj; livenessProbe?: Obj; readinessProbe?: Obj; startupProbe?: Obj; volumeMounts?: Obj[] }

let files = 0;
function valuesFile(values: Obj): string {
  const file = join(dir, `values-${files++}.yaml`);
  writeFileSync(file, stringifyYaml(values));
  return file;
}

function helmRun(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(helm, args, { encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: join(dir, 'cache'), HELM_CONFIG_HOME: join(dir, 'config'), HELM_DATA_HOME: join(dir, 'data') } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function render(values: Obj): { text: string; objects: Obj[] } {
  const r = helmRun(['template', 'soc', CHART, '--namespace', 'security', '-f', valuesFile(values)]);
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return { text: r.stdout, objects: parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj).filter(Boolean) };
}

function validate(manifests: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(validator, [], { input: manifests, encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const find = (objects: Obj[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const workloads = (objects: Obj[]) => objects.filter((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet');

/** A container's environment with Secret references resolved the way the kubelet would (missing optional keys: unset). */
function resolveEnv(container: Container, secrets: Record<string, Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = String(e.value);
    const ref = e.valueFrom?.secretKeyRef;
    if (ref) {
      const value = secrets[ref.name]?.[ref.key];
      if (value !== undefined) env[e.name] = value;
      else if (!ref.optional) throw new Error(`${container.name}: ${e.name} needs ${ref.name}/${ref.key}`);
    }
  }
  return env;
}

/** The ports a Peregrine process listens on with this configuration. */
function listening(args: string[], config: AppConfig & { console?: { port: number } }, env: Record<string, string>): number[] {
  if (args[0] === 'console') return [config.console?.port ?? Number(env.PEREGRINE__CONSOLE__PORT)];
  return [config.metrics.port, ...(args.includes('receiver') ? [config.receiver.grpc.port, config.receiver.http.port] : [])];
}

/** Every check of one rendering; `existingSecrets` stands for Secrets made outside the chart. */
function checkRendering(values: Obj, existingSecrets: Record<string, Record<string, string>> = {}): { objects: Obj[]; pending: string[] } {
  const lint = helmRun(['lint', '--strict', CHART, '-f', valuesFile(values)]);
  expect(lint.status, lint.stdout + lint.stderr).toBe(0);
  const { text, objects } = render(values);
  const validated = validate(text);
  expect(validated.stderr).toBe('');
  expect(validated.status).toBe(0);
  expect((JSON.parse(validated.stdout) as { objects: unknown[] }).objects).toHaveLength(objects.length);

  const configMap = objects.find((o) => o.kind === 'ConfigMap')!;
  const configFile = join(dir, `peregrine-${files++}.yaml`);
  writeFileSync(configFile, configMap.data['peregrine.yaml']);
  const secrets = { ...existingSecrets };
  for (const s of objects.filter((o) => o.kind === 'Secret')) secrets[s.metadata.name] = s.stringData;
  const pending: string[] = [];
  for (const w of workloads(objects)) {
    const pod = w.spec.template.spec;
    const [container] = pod.containers as Container[];
    if (w.metadata.labels['app.kubernetes.io/component'] === 'sensor') continue;
    const where = w.metadata.name;
    expect(container!.args.slice(-2), where).toEqual(['-c', '/etc/peregrine/peregrine.yaml']);
    expect(container!.volumeMounts, where).toContainEqual(expect.objectContaining({ name: 'config', mountPath: '/etc/peregrine', readOnly: true }));
    const env = resolveEnv(container!, secrets);
    let checked;
    try {
      checked = configForEnv(env, configFile);
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`);
    }
    pending.push(...checked.pending);
    const ports = listening(container!.args, checked.config, env);
    expect(container!.ports!.map((p) => p.containerPort).sort(), where).toEqual([...ports].sort());
    const probePort = container!.ports!.find((p) => p.name === container!.livenessProbe!.httpGet.port)!.containerPort;
    expect(probePort, where).toBe(container!.args[0] === 'console' ? ports[0] : checked.config.metrics.port);
    for (const probe of [container!.livenessProbe, container!.readinessProbe, container!.startupProbe]) expect(probe!.httpGet, where).toEqual({ path: '/healthz', port: container!.livenessProbe!.httpGet.port });
    // Not root, nothing writable but /tmp, no privileges.
    expect(pod.securityContext, where).toMatchObject({ runAsNonRoot: true, runAsUser: expect.any(Number) });
    expect(pod.securityContext.runAsUser, where).toBeGreaterThan(0);
    expect(container!.securityContext, where).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(pod.automountServiceAccountToken, where).toBe(false);
  }
  return { objects, pending };
}

describe('deploy/helm/peregrine rendered by Helm v4 and checked against the Kubernetes API types', () => {
  it('default values: receiver, features, detectors, findings and console Deployments, the sensor DaemonSet, config from values', () => {
    const { objects, pending } = checkRendering({});
    if (pending.length) console.warn(`helm: not checked until the schema has their section: ${[...new Set(pending)].join(', ')}`);
    expect(workloads(objects).map((w) => `${w.kind}/${w.metadata.name}`).sort()).toEqual([
      'DaemonSet/soc-peregrine-sensor', 'Deployment/soc-peregrine-console', 'Deployment/soc-peregrine-detectors', 'Deployment/soc-peregrine-features',
      'Deployment/soc-peregrine-findings', 'Deployment/soc-peregrine-receiver',
    ]);
    expect(objects.some((o) => o.kind === 'ServiceMonitor' || o.kind === 'Secret')).toBe(false);
    // Features, detectors and findings scale as members of one consumer group each.
    const config = configForEnv({}, (() => { const f = join(dir, 'default.yaml'); writeFileSync(f, find(objects, 'ConfigMap', 'soc-peregrine-config')!.data['peregrine.yaml']); return f; })()).config;
    for (const c of ['features', 'detectors', 'findings']) expect(find(objects, 'Deployment', `soc-peregrine-${c}`)!.spec.replicas).toBeLessThanOrEqual(config.topics.partitions);
    expect(new Set([config.features.groupId, config.detectors.groupId, config.findings.groupId]).size).toBe(3);
  });

  it('the sensor runs privileged on every node with the host interfaces BPF needs, exporting to the receiver Service', () => {
    const { objects } = render({ secrets: { receiverAuthToken: 'r'.repeat(24) } });
    const sensor = find(objects, 'DaemonSet', 'soc-peregrine-sensor')!.spec.template.spec;
    const container = sensor.containers[0] as Container;
    expect(container.securityContext).toMatchObject({ privileged: true, runAsUser: 0 });
    expect(sensor.hostPID).toBe(true);
    expect(sensor.tolerations).toEqual([{ operator: 'Exists' }]);
    const mounts = Object.fromEntries(container.volumeMounts!.map((m) => [m.name, m.mountPath]));
    const hostPaths = Object.fromEntries(sensor.volumes.filter((v: Obj) => v.hostPath).map((v: Obj) => [v.name, v.hostPath.path]));
    expect(hostPaths).toEqual({ tracefs: '/sys/kernel/tracing', btf: '/sys/kernel/btf' });
    for (const [name, path] of Object.entries(hostPaths)) expect(mounts[name]).toBe(path);
    const receiver = find(objects, 'Service', 'soc-peregrine-receiver')!;
    const httpPort = receiver.spec.ports.find((p: Obj) => p.name === 'otlp-http').port;
    expect(container.args.slice(0, 3)).toEqual(['sensor', '--otlp-endpoint', `http://soc-peregrine-receiver:${httpPort}`]);
    // The receiver's token reaches the sensor through the OTLP exporter variable, never its arguments.
    expect(container.env).toContainEqual({ name: 'OTEL_EXPORTER_OTLP_HEADERS', value: 'Authorization=Bearer%20$(RECEIVER_AUTH_TOKEN)' });
    expect(container.args.join(' ')).not.toContain('r'.repeat(24));
  });

  it('everything on: chart-made Secret, SASL, other ports, the ServiceMonitor scraping every process with its token', () => {
    const values = {
      config: {
        kafka: { brokers: ['kafka-0.kafka:9092', 'kafka-1.kafka:9092'], sasl: { mechanism: 'scram-sha-512', username: 'peregrine' } },
        elasticsearch: { url: 'https://es.internal:9200', username: 'peregrine' },
        jaeger: { queryUrl: 'http://jaeger-query.tracing:16686', uiUrl: 'https://jaeger.soc.example' },
        mlflow: { url: 'http://mlflow.ml:5000' },
        topics: { partitions: 12 },
        detectors: { http_request: { model: 'models:/http-request@champion' } },
      },
      secrets: { metricsAuthToken: 'm'.repeat(24), receiverAuthToken: 'r'.repeat(24), consoleAuthToken: 'c'.repeat(24), elasticsearchPassword: 'pw', kafkaSaslPassword: 'sasl' },
      metrics: { port: 9500 },
      receiver: { grpcPort: 14317, httpPort: 14318 },
      features: { replicas: 12 },
      console: { kibanaUrl: 'https://kibana.soc.example', port: 9471 },
      serviceMonitor: { enabled: true, interval: '15s', labels: { release: 'kube-prometheus' } },
    };
    const { objects } = checkRendering(values);
    const secret = find(objects, 'Secret', 'soc-peregrine-secrets')!;
    expect(Object.keys(secret.stringData).sort()).toEqual(['console-auth-token', 'elasticsearch-password', 'kafka-sasl-password', 'metrics-auth-token', 'receiver-auth-token']);
    const monitor = objects.find((o) => o.kind === 'ServiceMonitor')!;
    expect(monitor.metadata.labels.release).toBe('kube-prometheus');
    expect(monitor.spec.endpoints.map((e: Obj) => [e.port, e.path, e.interval, e.authorization.credentials.key])).toEqual([
      ['metrics', '/metrics', '15s', 'metrics-auth-token'], ['http', '/metrics', '15s', 'console-auth-token'],
    ]);
    // Every process is behind a Service the monitor selects, on the port its /metrics is served.
    const selected = objects.filter((o) => o.kind === 'Service' && Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels[k] === v));
    expect(selected.map((s) => s.metadata.labels['app.kubernetes.io/component']).sort()).toEqual(['console', 'detectors', 'features', 'findings', 'receiver']);
    for (const s of selected) {
      const metricsPort = s.spec.ports.find((p: Obj) => p.name === 'metrics' || p.name === 'http');
      expect(metricsPort.port).toBe(s.metadata.labels['app.kubernetes.io/component'] === 'console' ? 9471 : 9500);
    }
  });

  it('an existing Secret: every secret variable refers to it, optional', () => {
    const { objects } = checkRendering({ secrets: { existingSecret: 'peregrine-from-vault' }, serviceMonitor: { enabled: true } }, {
      'peregrine-from-vault': { 'metrics-auth-token': 'm'.repeat(20), 'console-auth-token': 'c'.repeat(20) },
    });
    expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
    const refs = workloads(objects).flatMap((w) => w.spec.template.spec.containers[0].env as Obj[]).filter((e) => e.valueFrom);
    expect(refs.length).toBeGreaterThan(10);
    for (const e of refs) expect(e.valueFrom.secretKeyRef).toMatchObject({ name: 'peregrine-from-vault', optional: true });
  });

  it('refuses more consumer-group replicas than partitions', () => {
    const tooMany = helmRun(['template', 'soc', CHART, '-f', valuesFile({ detectors: { replicas: 7 } })]);
    expect(tooMany.status).not.toBe(0);
    expect(tooMany.stderr).toContain('detectors.replicas (7) is more than config.topics.partitions (6)');
  });

  it('the validator refuses unknown fields, unknown kinds and selectors that miss their pods', () => {
    const { text } = render({});
    const misspelt = validate(text.replace('automountServiceAccountToken: false\n      securityContext', 'automountServiceAccountToken: false\n      securityContxt'));
    expect(misspelt.status).toBe(1);
    expect(misspelt.stderr).toMatch(/Deployment "soc-peregrine-console": .*unknown field "securityContxt"/);
    expect(validate(`${text}\n---\napiVersion: apps/v1\nkind: Deploymnt\nmetadata: { name: x }\n`).stderr).toMatch(/Deploymnt "x": unknown apiVersion\/kind/);
    const selector = validate(text.replace(/(matchLabels:\n\s+app\.kubernetes\.io\/name: peregrine\n\s+app\.kubernetes\.io\/instance: soc\n\s+app\.kubernetes\.io\/component: )features/, '$1featurez'));
    expect(selector.stderr).toMatch(/soc-peregrine-features.*selector does not select/);
    expect(validate('apiVersion: v1\nkind: Service\nmetadata: { name: s }\nspec:\n  selector: { a: b }\n  ports: [{ name: x, port: "80" }]\n').stderr).toMatch(/cannot unmarshal|invalid/);
  });
});

describe('helm itself', () => {
  it('is v4', () => {
    expect(execFileSync(helm, ['version', '--short'], { encoding: 'utf8' })).toMatch(/^v4\./);
  });
});
