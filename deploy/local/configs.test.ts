import { describe, expect, it } from 'vitest';
import {
  compareVersions, elasticsearchYml, kafkaClusterId, kafkaServerProperties, lastLines, parseGoVersion, parseJavaMajor, parseJavaRelease,
} from './configs.ts';
import { parseProcStat } from './proc.ts';

const props = (text: string) => Object.fromEntries(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/=(.*)/s).slice(0, 2)));

describe('kafkaServerProperties', () => {
  const p = props(kafkaServerProperties({ dataDir: '/s/kafka/data' }));
  it('is one combined KRaft node on loopback', () => {
    expect(p['process.roles']).toBe('broker,controller');
    expect(p.listeners).toBe('PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093');
    expect(p['controller.quorum.voters']).toBe('1@127.0.0.1:9093');
    expect(p['log.dirs']).toBe('/s/kafka/data');
  });
  it('has one-replica internal topics and the fast re-registration settings', () => {
    for (const key of ['offsets.topic.replication.factor', 'transaction.state.log.replication.factor', 'share.coordinator.state.topic.replication.factor']) {
      expect(p[key]).toBe('1');
    }
    expect(p['group.initial.rebalance.delay.ms']).toBe('0');
    expect(p['broker.session.timeout.ms']).toBe('2000');
    expect(p['broker.heartbeat.interval.ms']).toBe('500');
    expect(p['num.partitions']).toBe('6');
    expect(p['auto.create.topics.enable']).toBe('true');
  });
});

describe('kafkaClusterId', () => {
  it('is 22 URL-safe characters and never starts with "-"', () => {
    let call = 0;
    // First draw starts with '-', so it must draw again.
    const bytes = (n: number) => (call++ === 0 ? Buffer.alloc(n, 0xfb) : Buffer.alloc(n, 0x41));
    const id = kafkaClusterId(bytes);
    expect(call).toBe(2);
    expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });
  it('skips the reserved zero id', () => {
    let call = 0;
    const id = kafkaClusterId((n) => (call++ === 0 ? Buffer.alloc(n, 0) : Buffer.alloc(n, 7)));
    expect(id).not.toBe('AAAAAAAAAAAAAAAAAAAAAA');
  });
});

describe('elasticsearchYml', () => {
  it('binds loopback, single node, no security, data and logs where told', () => {
    const yml = elasticsearchYml({ dataDir: '/d', logsDir: '/l' });
    expect(yml).toContain('network.host: 127.0.0.1');
    expect(yml).toContain('discovery.type: single-node');
    expect(yml).toContain('xpack.security.enabled: false');
    expect(yml).toContain('path.data: /d');
    expect(yml).toContain('path.logs: /l');
  });
});

describe('version parsing', () => {
  it('reads java -version output of old and new JDKs', () => {
    expect(parseJavaMajor('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime')).toBe(17);
    expect(parseJavaMajor('java version "1.8.0_402"')).toBe(8);
    expect(parseJavaMajor('openjdk version "25" 2025-09-16')).toBe(25);
    expect(parseJavaMajor('no java here')).toBeUndefined();
  });
  it('reads a JDK release file', () => {
    expect(parseJavaRelease('IMPLEMENTOR="Eclipse Adoptium"\nJAVA_VERSION="25.0.1"\n')).toBe(25);
    expect(parseJavaRelease('JAVA_VERSION="1.8.0_402"')).toBe(8);
  });
  it('reads go version and compares', () => {
    expect(parseGoVersion('go version go1.26.8 linux/amd64')).toEqual([1, 26, 8]);
    expect(parseGoVersion('go version go1.24 linux/amd64')).toEqual([1, 24, 0]);
    expect(compareVersions([1, 24, 6], [1, 24, 6])).toBe(0);
    expect(compareVersions([1, 23, 9], [1, 24, 6])).toBeLessThan(0);
    expect(compareVersions([1, 26], [1, 24, 6])).toBeGreaterThan(0);
  });
});

describe('parseProcStat', () => {
  it('reads session and start time even when the command name has spaces and parentheses', () => {
    const text = '4242 (java (x) y) S 1 4240 4240 0 -1 4194560 100 0 0 0 5 1 0 0 20 0 30 0 987654 1000000 200 18446744073709551615';
    expect(parseProcStat(4242, text)).toEqual({ pid: 4242, state: 'S', ppid: 1, pgid: 4240, sid: 4240, startTime: 987654 });
  });
});

describe('lastLines', () => {
  it('keeps the last n lines', () => {
    expect(lastLines('a\nb\nc\n\n', 2)).toBe('b\nc');
  });
});
