import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.ts';
import { MemoryKeyedStore } from '../../core/state/keyed-store.ts';
import { encodeEcsFinding, findingId } from '../../findings/ecs/encode.ts';
import type { Finding } from '../../findings/finding.ts';
import { HttpModel } from '../../models/http/model.ts';
import { modelView } from '../../models/index.ts';
import type { BufferedRequest, LearningState, TrainingRows } from './learning.ts';
import { LiveRequestDetector, requestRowOf, type LoadedHttpModel, type ModelSource } from './live.ts';
import { requestEvent, shopRequest, shopTraffic } from './testing/shop-traffic.ts';
import { mulberry32 } from '../../core/random.ts';

const log = createLogger({ level: 'silent' });
const T0 = 1_767_225_600_000;
const MINUTE = 60_000;

function stores() {
  return {
    buffer: new MemoryKeyedStore<BufferedRequest>({ maxKeys: 5000 }),
    attacks: new MemoryKeyedStore<BufferedRequest>({ maxKeys: 500 }),
    state: new MemoryKeyedStore<LearningState>({ maxKeys: 1 }),
  };
}

function detectorWith(s: ReturnType<typeof stores>, overrides: { learningPeriodMs?: number } = {}): LiveRequestDetector {
  return new LiveRequestDetector({
    falsePositiveRate: 0.001, feedbackWeight: 10, log, stores: s,
    learning: { learningPeriodMs: overrides.learningPeriodMs ?? 3 * MINUTE, minTrainingRequests: 300, maxTrainingRequests: 5000, retrainIntervalMs: 0, retainPercent: 10 },
    groups: { windowMs: MINUTE, examples: 5, latenessMs: 5000, maxOpen: 100 },
  });
}

/** MLflow stand-in: trains in process, "registers" the model, and hands it over on refresh. */
class InProcessSource implements ModelSource {
  readonly initial = undefined;
  readonly canLearn = true;
  readonly trainings: TrainingRows[] = [];
  private trained?: HttpModel;
  constructor(private readonly detector: LiveRequestDetector) {}
  async train(rows: TrainingRows) {
    this.trainings.push(rows);
    this.trained = await HttpModel.train(rows.train.map((r) => modelView(r)), { epochs: 5 });
    return { decision: 'first', version: String(this.trainings.length), reason: 'no "champion" yet' };
  }
  async refresh() {
    const loaded: LoadedHttpModel = { model: this.trained!, name: 'peregrine-http-request', version: String(this.trainings.length) };
    this.detector.useModel(loaded);
  }
  stop() {}
}

const ATTACKER = '203.0.113.66';
function attack(timeMs: number, query: string, client = ATTACKER) {
  return requestEvent({ method: 'GET', route: '/api/products', path: '/api/products', query }, { timeMs, client, userAgent: 'sqlmap/1.8.2#stable (https://sqlmap.org)' });
}

function inBatches(d: LiveRequestDetector, events: ReturnType<typeof shopTraffic>, size = 200): Finding[] {
  const out: Finding[] = [];
  for (let i = 0; i < events.length; i += size) out.push(...d.score(events.slice(i, i + size)));
  return out;
}

describe('LiveRequestDetector: learning from live traffic', () => {
  const s = stores();
  const detector = detectorWith(s);
  const source = new InProcessSource(detector);
  detector.attach(source);
  afterAll(() => detector.model?.model.dispose());

  it('judges with signatures while learning, trains once the period is over, leaving out what rules flagged, never storing a secret', async () => {
    const normal = shopTraffic({ seed: 7, startMs: T0, perSecond: 4, count: 1000 }); // 250 s of event time
    const mixed = [...normal];
    // A scan in the middle of the learning period.
    for (let i = 0; i < 30; i++) mixed.splice(300 + i * 5, 0, attack(T0 + 80_000 + i * 100, `q=shoe%27+union+all+select+${i},2--&page=1`));
    const findings = inBatches(detector, mixed);
    expect(detector.pendingTraining).toBeDefined();
    await detector.pendingTraining;
    expect(detector.model?.version).toBe('1');

    // Signatures alone caught the scan while there was no model: one finding for the client, route and window.
    const scan = findings.filter((f) => f.entityId === `client:${ATTACKER}`);
    // Opened, then updated once its window closed: the same finding id, all 30 requests in the last version.
    expect(new Set(scan.map((f) => findingId(f)))).toHaveProperty('size', 1);
    expect(scan.at(-1)!.requestCount).toBe(30);
    expect(scan[0]).toMatchObject({ threat: { technique: { id: 'T1190' } }, urlPath: '/api/products', sourceIp: ATTACKER, httpMethod: 'GET', entityType: 'client' });
    expect(findings.filter((f) => f.entityId !== `client:${ATTACKER}`)).toEqual([]);

    const [rows] = source.trainings;
    // Trained after three minutes of event time, on the normal requests only (80 %; 20 % held out for evaluation).
    expect(rows.train.length + rows.evaluation.filter((r) => r.label === 'normal').length).toBeLessThanOrEqual(normal.length);
    expect(rows.train.length).toBeGreaterThan(0.7 * 720);
    expect(rows.evaluation.filter((r) => r.label === 'anomalous').length).toBe(30);
    const trainText = JSON.stringify(rows.train);
    expect(trainText).not.toMatch(/union\+all\+select/i);
    // Routes are templates and credentials are masked in what is kept and trained on.
    expect(rows.train.some((r) => r.req_path.startsWith('/api/products/{id}'))).toBe(true);
    expect(rows.train.some((r) => /\/api\/products\/\d/.test(r.req_path))).toBe(false);
    expect(trainText).toContain('[REDACTED:field]');
    expect(trainText).not.toMatch(/"password":"(?!\[REDACTED)/);
    expect(trainText).not.toMatch(/card_number=\d/);
    expect(JSON.stringify([...s.buffer.entries()])).not.toMatch(/Bearer [0-9a-f]{32}/);
  }, 120_000);

  it('then scores with the model and signatures: normal traffic stays quiet, attacks are caught with fragments and offsets', () => {
    const later = T0 + 10 * MINUTE;
    const normal = shopTraffic({ seed: 99, startMs: later, perSecond: 10, count: 3000 });
    const quiet = inBatches(detector, normal);
    // At a 0.1 % operating point a few normal requests may alert; grouped per client, route and window they stay few.
    if (process.env.PEREGRINE_PRINT_METRICS) process.stderr.write(`quiet: ${JSON.stringify(quiet.map((f) => [f.riskScore, f.requestCount, f.urlPath, f.explanation[0]?.feature]))}\n`);
    expect(quiet.length).toBeLessThanOrEqual(5);

    const t = later + 6 * MINUTE;
    const attacks = [
      attack(t, 'q=1+order+by+1--&page=1', '203.0.113.7'),
      requestEvent({ method: 'POST', route: '/api/login', path: '/api/login', body: JSON.stringify({ email: 'a@example.com', password: "hunter2' OR '1'='1" }), contentType: 'application/json' }, { timeMs: t + 1, client: '203.0.113.8', userAgent: 'curl/8.5' }),
      requestEvent({ method: 'GET', route: '/static/{file}', path: '/static/..%2f..%2f..%2fetc%2fpasswd' }, { timeMs: t + 2, client: '203.0.113.9', userAgent: 'curl/8.5' }),
    ];
    const found = detector.score(attacks);
    expect(found.map((f) => f.entityId).sort()).toEqual(['client:203.0.113.7', 'client:203.0.113.8', 'client:203.0.113.9']);
    for (const f of found) {
      expect(f.riskScore).toBeGreaterThanOrEqual(80);
      expect(f.model).toEqual({ name: 'peregrine-http-request', version: '1' });
      const sig = f.examples![0].signatures[0];
      const raw = f.examples![0].request;
      expect(sig.fragment.length).toBeGreaterThan(0);
      // Shares of the risk sum to 1.
      expect(f.explanation.reduce((sum, e) => sum + e.share, 0)).toBeCloseTo(1, 6);
      if (sig.location === 'body') expect(raw.body.slice(raw.body.indexOf('hunter2')).slice(sig.start, sig.end)).toBe(sig.fragment);
    }
    const login = found.find((f) => f.entityId === 'client:203.0.113.8')!;
    expect(login.examples![0].signatures[0]).toMatchObject({ kind: 'sql_injection', field: '/password', decoded: "' OR '1'='1" });
    // Stored, the password field is masked while the attack fragment stays readable.
    const doc = JSON.stringify(encodeEcsFinding(login, { jaegerUiUrl: 'http://j' }));
    expect(doc).not.toContain('hunter2');
    expect(doc).toContain("' OR '1'='1");
  });
});

describe('LiveRequestDetector: findings per client, route and window', () => {
  it('one finding when a group opens and one update when its window closes, with the worst requests as examples', () => {
    const d = detectorWith(stores());
    const t = T0 + 30_000;
    const first = d.score(Array.from({ length: 12 }, (_, i) => attack(t + i * 100, `q=x%27+or+%271%27%3D%27${i}&page=1`)));
    expect(first).toHaveLength(1);
    expect(first[0].requestCount).toBe(12);
    const more = d.score(Array.from({ length: 30 }, (_, i) => attack(t + 2000 + i * 100, `id=${i}+union+select+null,null--`)));
    expect(more).toEqual([]); // the group grew: its update waits for the window to close
    const random = mulberry32(5);
    const closing = d.score([requestEvent(shopRequest(random), { timeMs: t + 2 * MINUTE, client: '198.51.100.1', userAgent: 'x' })]);
    expect(closing).toHaveLength(1);
    const [update] = closing;
    expect(update.requestCount).toBe(42);
    expect(update.examples).toHaveLength(5);
    expect(update.windowStartMs).toBe(first[0].windowStartMs);
    expect(findingId(update)).toBe(findingId(first[0]));
    expect(update.exemplars.length).toBe(5);
  });

  it('a restart keeps what was learned: the buffer and the learning state live in the stores', async () => {
    const s = stores();
    const before = detectorWith(s);
    before.attach({ initial: undefined, canLearn: true, train: async () => ({ decision: 'kept', reason: 'test' }), refresh: async () => {}, stop() {} });
    inBatches(before, shopTraffic({ seed: 3, startMs: T0, perSecond: 2, count: 200 }));
    expect(s.buffer.size).toBe(200);
    const trainings: TrainingRows[] = [];
    const after = detectorWith(s);
    after.attach({ initial: undefined, canLearn: true, train: async (rows) => { trainings.push(rows); return { decision: 'kept', reason: 'test' }; }, refresh: async () => {}, stop() {} });
    inBatches(after, shopTraffic({ seed: 4, startMs: T0 + 100_000, perSecond: 2, count: 200 }));
    await after.pendingTraining;
    // 400 requests over 200 s of event time: the period (3 min) counted from the first request before the restart.
    expect(trainings).toHaveLength(1);
    expect(trainings[0].train.length + trainings[0].evaluation.length).toBe(400);
  });

  it('retrains on schedule with the analysts\' verdicts: false positives trained as normal (weighted) and evaluated, confirmed attacks evaluated', async () => {
    const s = stores();
    const d = new LiveRequestDetector({
      falsePositiveRate: 0.0001, feedbackWeight: 3, log, stores: s,
      learning: { learningPeriodMs: 3 * MINUTE, minTrainingRequests: 100, maxTrainingRequests: 5000, retrainIntervalMs: 10 * MINUTE, retainPercent: 50 },
      groups: { windowMs: MINUTE, examples: 5, latenessMs: 5000, maxOpen: 100 },
      feedback: async () => [
        { id: 'fp-1', label: 'normal', req_method: 'GET', req_path: '/api/products?q=odd+but+fine', req_headers: '{}', req_body: '' },
        { id: 'tp-1', label: 'anomalous', req_method: 'GET', req_path: '/api/products?q=1%27+or+1%3D1--', req_headers: '{}', req_body: '' },
      ],
    });
    const initial = await HttpModel.train(shopTraffic({ seed: 1, startMs: T0, perSecond: 5, count: 400 }).map((e) => modelView(requestRowOf(e)!)), { epochs: 3 });
    const reasons: string[] = [];
    const trainings: TrainingRows[] = [];
    d.attach({
      initial: { model: initial, name: 'm', version: '1' }, canLearn: true,
      train: async (rows, reason) => { reasons.push(reason); trainings.push(rows); return { decision: 'kept', reason: 'challenger does not beat champion' }; },
      refresh: async () => { throw new Error('a kept champion needs no refresh'); }, stop() {},
    });
    inBatches(d, shopTraffic({ seed: 2, startMs: T0 + MINUTE, perSecond: 2, count: 1300 })); // 10 minutes and 50 s
    await d.pendingTraining;
    expect(reasons).toEqual(['retrain']);
    const [rows] = trainings;
    expect(rows.train.filter((r) => r.id === 'fp-1')).toHaveLength(3);
    expect(rows.evaluation.filter((r) => r.id === 'fp-1' || r.id === 'tp-1').map((r) => r.label)).toEqual(['normal', 'anomalous']);
    // Half the normal requests were kept once a model scored.
    expect(s.buffer.size).toBeGreaterThan(450);
    expect(s.buffer.size).toBeLessThan(750);
    expect(d.model?.version).toBe('1');
    initial.dispose();
  }, 120_000);
});

