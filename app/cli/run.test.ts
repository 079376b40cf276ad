import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/peregrine.js', import.meta.url));

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, PEREGRINE_LOG_FORMAT: 'json', ...env }, timeout: 110_000 }, (error, _stdout, stderr) => {
      resolve({ code: error ? (error as { code?: number }).code ?? 1 : 0, stderr });
    });
  });
}

function configFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'peregrine-run-')), 'peregrine.yaml');
  writeFileSync(path, text);
  return path;
}

describe('peregrine run start-up checks', () => {
  it('stops on an unknown key, naming it', async () => {
    const r = await run(['run', '-c', configFile('kafka:\n  brokerz: ["x:1"]\n')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/peregrine: invalid .*: kafka\.brokerz: unknown key/);
  });

  it('stops on a wrong type, naming the key', async () => {
    const r = await run(['run', '-c', configFile('features:\n  windowMs: soon\n')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/features\.windowMs/);
  });

  it('stops on an unreachable broker, naming the service and address', async () => {
    const r = await run(['run'], { PEREGRINE__KAFKA__BROKERS: '[127.0.0.1:1]' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/peregrine: kafka: brokers 127\.0\.0\.1:1 unreachable/);
  });

  it('rejects an unknown stage', async () => {
    const r = await run(['run', 'nonsense'], { PEREGRINE__KAFKA__BROKERS: '[127.0.0.1:1]' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown stage nonsense/);
  });
});

describe('peregrine config', () => {
  it('check names the bad key and exits 2; show prints every default with secrets masked', async () => {
    const bad = await run(['config', 'check', '-c', configFile('detectors:\n  error_ratio:\n    threshold: high\n')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/detectors\.error_ratio\.threshold/);
    const shown = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [bin, 'config', 'show'], { env: { ...process.env, PEREGRINE__RECEIVER__AUTH_TOKEN: 's3cret-token', PEREGRINE__KAFKA__SASL: '{mechanism: plain, username: u, password: hunter2}' }, timeout: 110_000 },
        (error, stdout) => (error ? reject(error) : resolve(stdout)));
    });
    expect(shown).toMatch(/error_ratio:\n\s+warmupWindows: 3/);
    expect(shown).toMatch(/authToken: "\*\*\*"/);
    expect(shown).not.toMatch(/s3cret-token|hunter2/);
  });
});
