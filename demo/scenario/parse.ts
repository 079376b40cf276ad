/**
 * Scenario files (issue #14): a YAML contract others write files for. Parsing is strict — an unknown key, an unknown
 * kind, a bad duration, an event past the end, an impossible overlap, a bad address or a target that does not fit the
 * kind is refused with a message naming the file and line. Pure apart from reading payload files through `readFile`.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';
import { ConfigError } from '../../core/errors.ts';
import { findRoute, isService, PRODUCT_IDS, FLAG_FAILURE_PRODUCT, LOGIN_ROUTE, type FrontendRoute, type ServiceName } from '../shop/catalog.ts';

export const EVENT_KINDS = [
  'product_catalog_failure', 'latency_degradation', 'flood', 'credential_stuffing', 'password_spraying', 'scanning',
  'sql_injection', 'xss', 'path_traversal', 'command_injection', 'exfiltration', 'lateral_movement', 'new_binary',
  'cryptominer',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];
export const FAULT_KINDS: readonly EventKind[] = ['product_catalog_failure', 'latency_degradation'];
export const INJECTION_KINDS: readonly EventKind[] = ['sql_injection', 'xss', 'path_traversal', 'command_injection'];
export const CREDENTIAL_KINDS: readonly EventKind[] = ['credential_stuffing', 'password_spraying'];

export type Source =
  | { kind: 'address'; address: string }
  | { kind: 'cidr'; cidr: string; family: 4 | 6; network: string; prefix: number };

export type Target =
  | { kind: 'route'; route: FrontendRoute }
  /** A scan's base: the scanner requests paths under it. */
  | { kind: 'path'; method: 'GET' | 'HEAD'; path: string }
  | { kind: 'service'; service: ServiceName }
  | { kind: 'edge'; caller: ServiceName; callee: ServiceName }
  | { kind: 'product'; productId: string };

export interface Expectation {
  /** The ATT&CK technique id a finding must carry (attacks), or the detector that must report it (faults). */
  technique?: string;
  detector?: string;
  /** `peregrine.entity.id` the finding must have, when given. */
  entity?: string;
}

export interface ScenarioEvent {
  kind: EventKind;
  /** Line of the event in the scenario file (for messages). */
  line: number;
  atMs: number;
  durationMs: number;
  source?: Source;
  target: Target;
  /** Attack requests (or actions) per second. */
  rate?: number;
  /** Lines of the payloads file, when one was given. */
  payloads?: string[];
  expect: Expectation;
}

export interface Scenario {
  name: string;
  seed: number;
  durationMs: number;
  traffic: { sessions: number; rate: number; bots: boolean };
  events: ScenarioEvent[];
  /** The file it came from, when it came from one. */
  file?: string;
}

export class ScenarioError extends ConfigError {
  constructor(readonly file: string, readonly line: number, detail: string) {
    super(`${file}:${line}: ${detail}`);
  }
}

export const LIMITS = {
  maxDurationMs: 7 * 24 * 3_600_000,
  maxSessions: 100_000,
  maxRate: 10_000,
  maxAttackRate: 5_000,
  maxEvents: 1_000,
  maxPayloadBytes: 8 * 1024 * 1024,
  maxPayloadLines: 200_000,
};

const TOP_KEYS = ['name', 'seed', 'duration', 'traffic', 'events'];
const TRAFFIC_KEYS = ['sessions', 'rate', 'bots'];
const EVENT_KEYS = ['kind', 'at', 'duration', 'source', 'target', 'rate', 'payloads', 'expect'];
const EXPECT_KEYS = ['technique', 'detector', 'entity'];
const ENTITY_KINDS = ['service', 'operation', 'edge', 'client', 'host', 'pod', 'process'];

type TargetShape = 'product' | 'service' | 'route' | 'login' | 'scan' | 'parameters' | 'route-or-service' | 'edge';
interface KindRules {
  target: TargetShape;
  /** Used when the event names no target. */
  defaultTarget?: string;
  source: boolean;
  /** Attack rate per second used when the event names none; undefined: `rate` does not apply. */
  defaultRate?: number;
  payloads: 'credentials' | 'paths' | 'strings' | false;
}

export const KIND_RULES: Readonly<Record<EventKind, KindRules>> = {
  product_catalog_failure: { target: 'product', defaultTarget: FLAG_FAILURE_PRODUCT, source: false, payloads: false },
  latency_degradation: { target: 'service', source: false, payloads: false },
  flood: { target: 'route', source: true, defaultRate: 300, payloads: false },
  credential_stuffing: { target: 'login', defaultTarget: `POST ${LOGIN_ROUTE}`, source: true, defaultRate: 10, payloads: 'credentials' },
  password_spraying: { target: 'login', defaultTarget: `POST ${LOGIN_ROUTE}`, source: true, defaultRate: 2, payloads: 'credentials' },
  scanning: { target: 'scan', defaultTarget: 'GET /', source: true, defaultRate: 25, payloads: 'paths' },
  sql_injection: { target: 'parameters', source: true, defaultRate: 8, payloads: 'strings' },
  xss: { target: 'parameters', source: true, defaultRate: 4, payloads: 'strings' },
  path_traversal: { target: 'parameters', source: true, defaultRate: 6, payloads: 'strings' },
  command_injection: { target: 'parameters', source: true, defaultRate: 4, payloads: 'strings' },
  exfiltration: { target: 'route-or-service', source: true, defaultRate: 2, payloads: false },
  lateral_movement: { target: 'edge', source: false, defaultRate: 2, payloads: false },
  new_binary: { target: 'service', source: false, payloads: false },
  cryptominer: { target: 'service', source: true, payloads: false },
};

export function isFault(kind: EventKind): boolean {
  return FAULT_KINDS.includes(kind);
}

/** `30s`, `10m`, `1.5h` → ms; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'];
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

export function formatDuration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 1000 === 0) return `${Math.round(ms / 600) / 100}m`;
  return `${Math.round(ms) / 1000}s`;
}

/** One address or a CIDR; undefined (with the reason) when it is neither. */
export function parseSource(text: string): Source | string {
  const t = text.trim();
  const slash = t.indexOf('/');
  if (slash < 0) return isIP(t) ? { kind: 'address', address: t } : `"${t}" is neither an IP address nor a CIDR`;
  const network = t.slice(0, slash);
  const family = isIP(network);
  if (family === 0) return `CIDR "${t}": "${network}" is not an IP address`;
  const prefixText = t.slice(slash + 1);
  const prefix = Number(prefixText);
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefixText) || prefix > max) return `CIDR "${t}": the prefix length must be 0..${max}`;
  return { kind: 'cidr', cidr: t, family: family as 4 | 6, network, prefix };
}

interface Context {
  file: string;
  lines: LineCounter;
  dir: string;
  readFile(file: string): string;
}

function lineOf(ctx: Context, node: Node | Pair | null | undefined): number {
  const range = (node as Node | null | undefined)?.range ?? ((node as Pair | undefined)?.key as Node | undefined)?.range;
  return range ? ctx.lines.linePos(range[0]).line : 1;
}

function fail(ctx: Context, node: Node | Pair | null | undefined, detail: string): never {
  throw new ScenarioError(ctx.file, lineOf(ctx, node), detail);
}

/** A mapping's pairs by key, refusing keys it does not know and keys given twice. */
function entries(ctx: Context, node: unknown, where: string, known: readonly string[]): Map<string, Pair> {
  if (!isMap(node)) fail(ctx, node as Node, `${where} must be a mapping of keys to values`);
  const out = new Map<string, Pair>();
  for (const pair of (node as YAMLMap).items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (key === undefined) fail(ctx, pair, `${where}: keys must be plain words`);
    if (!known.includes(key)) fail(ctx, pair, `unknown key "${key}" in ${where} (known: ${known.join(', ')})`);
    if (out.has(key)) fail(ctx, pair, `"${key}" given twice in ${where}`);
    out.set(key, pair);
  }
  return out;
}

function scalarValue(ctx: Context, pair: Pair, key: string): unknown {
  if (!isScalar(pair.value)) fail(ctx, pair, `${key} must be a single value`);
  return pair.value.value;
}

function text(ctx: Context, pair: Pair, key: string): string {
  const v = scalarValue(ctx, pair, key);
  if (typeof v !== 'string' || v.trim() === '') fail(ctx, pair, `${key} must be text, got ${JSON.stringify(v)}`);
  return v.trim();
}

function number(ctx: Context, pair: Pair, key: string, options: { integer?: boolean; min: number; max: number; exclusiveMin?: boolean }): number {
  const v = scalarValue(ctx, pair, key);
  const ok = typeof v === 'number' && Number.isFinite(v) && (!options.integer || Number.isInteger(v))
    && (options.exclusiveMin ? v > options.min : v >= options.min) && v <= options.max;
  if (!ok) {
    const range = `${options.exclusiveMin ? 'above' : 'from'} ${options.min} ${options.exclusiveMin ? 'and at most' : 'to'} ${options.max}`;
    fail(ctx, pair, `${key} must be ${options.integer ? 'an integer' : 'a number'} ${range}, got ${JSON.stringify(v)}`);
  }
  return v as number;
}

function duration(ctx: Context, pair: Pair, key: string): number {
  const v = scalarValue(ctx, pair, key);
  const ms = typeof v === 'string' ? parseDuration(v) : undefined;
  if (ms === undefined) fail(ctx, pair, `${key}: bad duration ${JSON.stringify(v)} (a number with s, m or h, e.g. 30s, 10m, 2h)`);
  return ms;
}

function required(ctx: Context, pairs: Map<string, Pair>, key: string, node: unknown, where: string): Pair {
  const pair = pairs.get(key);
  if (!pair) fail(ctx, node as Node, `${where} needs "${key}"`);
  return pair;
}

/** Parses scenario text; `file` names it in messages and payload files are read relative to it. */
export function parseScenario(source: string, options: { file: string; readFile?: (file: string) => string }): Scenario {
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
  const ctx: Context = { file: options.file, lines, dir: path.dirname(options.file), readFile: options.readFile ?? ((f) => readFileSync(f, 'utf8')) };
  const syntax = doc.errors[0];
  if (syntax) {
    // An error at the end of the text (an unclosed bracket) is reported on the last line that has content.
    const lastLine = source.replace(/\s+$/, '').split('\n').length;
    throw new ScenarioError(options.file, Math.min(lines.linePos(syntax.pos[0]).line, lastLine), `not valid YAML: ${syntax.message.split('\n')[0]}`);
  }
  const top = entries(ctx, doc.contents, 'the scenario', TOP_KEYS);

  const nameText = text(ctx, required(ctx, top, 'name', doc.contents, 'the scenario'), 'name');
  if (!/^[a-z0-9-]+$/.test(nameText)) fail(ctx, top.get('name'), `name "${nameText}" may only hold a-z, 0-9 and "-"`);
  const seedPair = top.get('seed');
  const seed = seedPair ? number(ctx, seedPair, 'seed', { integer: true, min: 0, max: 2 ** 32 - 1 }) : 1;
  const durationPair = required(ctx, top, 'duration', doc.contents, 'the scenario');
  const durationMs = duration(ctx, durationPair, 'duration');
  if (durationMs <= 0 || durationMs > LIMITS.maxDurationMs) fail(ctx, durationPair, `duration must be above 0s and at most ${formatDuration(LIMITS.maxDurationMs)}`);

  const traffic = { sessions: 50, rate: 10, bots: true };
  const trafficPair = top.get('traffic');
  if (trafficPair) {
    const t = entries(ctx, trafficPair.value, 'traffic', TRAFFIC_KEYS);
    const sessions = t.get('sessions');
    if (sessions) traffic.sessions = number(ctx, sessions, 'sessions', { integer: true, min: 1, max: LIMITS.maxSessions });
    const rate = t.get('rate');
    if (rate) traffic.rate = number(ctx, rate, 'rate', { min: 0, max: LIMITS.maxRate, exclusiveMin: true });
    const bots = t.get('bots');
    if (bots) {
      const v = scalarValue(ctx, bots, 'bots');
      if (typeof v !== 'boolean') fail(ctx, bots, `bots must be true or false, got ${JSON.stringify(v)}`);
      traffic.bots = v;
    }
  }

  const events: ScenarioEvent[] = [];
  const eventsPair = top.get('events');
  if (eventsPair) {
    if (!isSeq(eventsPair.value)) fail(ctx, eventsPair, 'events must be a list (events: [] for normal traffic only)');
    const items = eventsPair.value.items;
    if (items.length > LIMITS.maxEvents) fail(ctx, eventsPair, `at most ${LIMITS.maxEvents} events`);
    for (const item of items) events.push(parseEvent(ctx, item as Node, durationMs));
  }
  checkOverlaps(ctx, events);
  return { name: nameText, seed, durationMs, traffic, events, file: options.file };
}

function parseEvent(ctx: Context, node: Node, scenarioMs: number): ScenarioEvent {
  const e = entries(ctx, node, 'an event', EVENT_KEYS);
  const line = lineOf(ctx, node);
  const kindPair = required(ctx, e, 'kind', node, 'an event');
  const kindText = text(ctx, kindPair, 'kind');
  if (!(EVENT_KINDS as readonly string[]).includes(kindText)) fail(ctx, kindPair, `unknown kind "${kindText}" (kinds: ${EVENT_KINDS.join(', ')})`);
  const kind = kindText as EventKind;
  const rules = KIND_RULES[kind];

  const atPair = required(ctx, e, 'at', node, `a ${kind} event`);
  const atMs = duration(ctx, atPair, 'at');
  const durationPair = required(ctx, e, 'duration', node, `a ${kind} event`);
  const durationMs = duration(ctx, durationPair, 'duration');
  if (durationMs <= 0) fail(ctx, durationPair, 'an event\'s duration must be above 0s');
  if (atMs >= scenarioMs) fail(ctx, atPair, `the event starts at ${formatDuration(atMs)}, at or past the end of the scenario (${formatDuration(scenarioMs)})`);
  if (atMs + durationMs > scenarioMs) {
    fail(ctx, durationPair, `the event ends at ${formatDuration(atMs + durationMs)}, past the end of the scenario (${formatDuration(scenarioMs)})`);
  }

  let source: Source | undefined;
  const sourcePair = e.get('source');
  if (sourcePair) {
    if (!rules.source) fail(ctx, sourcePair, `source does not apply to ${kind}`);
    const parsed = parseSource(text(ctx, sourcePair, 'source'));
    if (typeof parsed === 'string') fail(ctx, sourcePair, `bad source: ${parsed}`);
    source = parsed;
  }

  const targetPair = e.get('target');
  const targetText = targetPair ? text(ctx, targetPair, 'target') : rules.defaultTarget;
  if (targetText === undefined) fail(ctx, node, `a ${kind} event needs "target" (${targetHelp(rules.target)})`);
  const target = parseTarget(targetText, rules.target);
  if (typeof target === 'string') fail(ctx, targetPair ?? node, `bad target for ${kind}: ${target}`);

  let rate: number | undefined;
  const ratePair = e.get('rate');
  if (ratePair) {
    if (rules.defaultRate === undefined) fail(ctx, ratePair, `rate does not apply to ${kind}`);
    rate = number(ctx, ratePair, 'rate', { min: 0, max: LIMITS.maxAttackRate, exclusiveMin: true });
  } else rate = rules.defaultRate;

  let payloads: string[] | undefined;
  const payloadsPair = e.get('payloads');
  if (payloadsPair) {
    if (!rules.payloads) fail(ctx, payloadsPair, `payloads do not apply to ${kind}`);
    payloads = readPayloads(ctx, payloadsPair, text(ctx, payloadsPair, 'payloads'), rules.payloads);
  }

  const expectPair = required(ctx, e, 'expect', node, `a ${kind} event`);
  const x = entries(ctx, expectPair.value, 'expect', EXPECT_KEYS);
  const expect: Expectation = {};
  const techniquePair = x.get('technique');
  const detectorPair = x.get('detector');
  if (isFault(kind)) {
    if (techniquePair) fail(ctx, techniquePair, `${kind} is a fault: expect names the detector (detector: <id>), not a technique`);
    if (!detectorPair) fail(ctx, expectPair, `${kind} is a fault: expect needs "detector"`);
  } else {
    if (detectorPair) fail(ctx, detectorPair, `${kind} is an attack: expect names the ATT&CK technique (technique: Txxxx), not a detector`);
    if (!techniquePair) fail(ctx, expectPair, `${kind} is an attack: expect needs "technique"`);
  }
  if (techniquePair) {
    expect.technique = text(ctx, techniquePair, 'technique');
    if (!/^T\d{4}(\.\d{3})?$/.test(expect.technique)) fail(ctx, techniquePair, `technique "${expect.technique}" is not an ATT&CK id (T1110, T1110.004)`);
  }
  if (detectorPair) {
    expect.detector = text(ctx, detectorPair, 'detector');
    if (!/^[a-z][a-z0-9_]*$/.test(expect.detector)) fail(ctx, detectorPair, `detector "${expect.detector}" is not a detector id (lower_snake, e.g. error_ratio)`);
  }
  const entityPair = x.get('entity');
  if (entityPair) {
    expect.entity = text(ctx, entityPair, 'entity');
    const colon = expect.entity.indexOf(':');
    if (colon < 1 || !ENTITY_KINDS.includes(expect.entity.slice(0, colon)) || colon === expect.entity.length - 1) {
      fail(ctx, entityPair, `entity "${expect.entity}" is not an entity id (${ENTITY_KINDS.map((k) => `${k}:…`).join(', ')})`);
    }
  }
  return { kind, line, atMs, durationMs, source, target, rate, payloads, expect };
}

function targetHelp(shape: TargetShape): string {
  switch (shape) {
    case 'product': return 'a product id of the catalog';
    case 'service': return 'a service name';
    case 'route': return 'a method and a frontend route, e.g. GET /api/products';
    case 'login': return `POST ${LOGIN_ROUTE}`;
    case 'scan': return 'GET or HEAD and the base path scanned, e.g. GET /';
    case 'parameters': return 'a method and a frontend route that takes parameters, e.g. GET /api/products/{productId}';
    case 'route-or-service': return 'a frontend route the data is pulled through, or the service that sends it out';
    case 'edge': return '"caller -> callee" service names';
  }
}

function parseTarget(t: string, shape: TargetShape): Target | string {
  const help = targetHelp(shape);
  switch (shape) {
    case 'product':
      return PRODUCT_IDS.includes(t) ? { kind: 'product', productId: t } : `"${t}" is not a product id (${PRODUCT_IDS.join(', ')})`;
    case 'service':
      return isService(t) ? { kind: 'service', service: t } : `"${t}" is not a service of the shop (${help})`;
    case 'edge': {
      const m = /^([a-z-]+)\s*->\s*([a-z-]+)$/.exec(t);
      if (!m) return `"${t}" is not "caller -> callee"`;
      const [, caller, callee] = m as unknown as [string, string, string];
      if (!isService(caller)) return `"${caller}" is not a service of the shop`;
      if (!isService(callee)) return `"${callee}" is not a service of the shop`;
      if (caller === callee) return 'caller and callee are the same service';
      return { kind: 'edge', caller, callee };
    }
    case 'scan': {
      const m = /^(GET|HEAD)\s+(\/\S*)$/.exec(t);
      return m ? { kind: 'path', method: m[1] as 'GET' | 'HEAD', path: m[2]! } : `"${t}" is not ${help}`;
    }
    case 'route-or-service': {
      if (isService(t)) return { kind: 'service', service: t };
      const route = findRoute(t);
      return route ? { kind: 'route', route } : `"${t}" is neither a frontend route (e.g. GET /api/products) nor a service`;
    }
    default: {
      const route = findRoute(t);
      if (!route) return `"${t}" is not a route of the frontend (${help})`;
      if (shape === 'login' && route.route !== LOGIN_ROUTE) return `credential attempts go to POST ${LOGIN_ROUTE}, not ${t}`;
      if (shape === 'parameters' && route.parameters.length === 0) return `${t} takes no parameters to inject into`;
      return { kind: 'route', route };
    }
  }
}

function readPayloads(ctx: Context, pair: Pair, name: string, kind: 'credentials' | 'paths' | 'strings'): string[] {
  const file = path.resolve(ctx.dir, name);
  let content: string;
  try {
    content = ctx.readFile(file);
  } catch (e) {
    fail(ctx, pair, `cannot read payloads file ${file}: ${(e as Error).message}`);
  }
  if (content.length > LIMITS.maxPayloadBytes) fail(ctx, pair, `payloads file ${file} is larger than ${LIMITS.maxPayloadBytes} bytes`);
  const lines = content.split(/\r?\n/);
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.trim() === '') continue;
    if (kind === 'credentials' && l.indexOf(':') < 1) fail(ctx, pair, `payloads file ${file} line ${i + 1}: expected user:password`);
    if (kind === 'paths' && !l.trim().startsWith('/') && /\s/.test(l.trim())) fail(ctx, pair, `payloads file ${file} line ${i + 1}: a path may not hold spaces`);
    out.push(kind === 'strings' ? l : l.trim());
    if (out.length > LIMITS.maxPayloadLines) fail(ctx, pair, `payloads file ${file} has more than ${LIMITS.maxPayloadLines} payloads`);
  }
  if (out.length === 0) fail(ctx, pair, `payloads file ${file} holds no payloads`);
  return out;
}

function targetKey(t: Target): string {
  switch (t.kind) {
    case 'route': return `${t.route.method} ${t.route.route}`;
    case 'path': return `${t.method} ${t.path}`;
    case 'service': return t.service;
    case 'edge': return `${t.caller}->${t.callee}`;
    case 'product': return t.productId;
  }
}

function sourceKey(s: Source | undefined): string {
  return s === undefined ? '' : s.kind === 'address' ? s.address : s.cidr;
}

/**
 * A fault or attack cannot run twice at once on the same target from the same source: a feature flag is on or off, a
 * service's process runs one miner named by the event, one client sends one stream. Such overlaps are refused.
 */
function checkOverlaps(ctx: Context, events: readonly ScenarioEvent[]): void {
  for (let i = 0; i < events.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = events[j]!;
      const b = events[i]!;
      if (a.kind !== b.kind || targetKey(a.target) !== targetKey(b.target) || sourceKey(a.source) !== sourceKey(b.source)) continue;
      if (b.atMs < a.atMs + a.durationMs && a.atMs < b.atMs + b.durationMs) {
        throw new ScenarioError(ctx.file, b.line, `this ${b.kind} on ${targetKey(b.target)} overlaps the one at line ${a.line} (same kind, target and source cannot run twice at once)`);
      }
    }
  }
}

/** Reads and parses a scenario file. */
export function loadScenario(file: string): Scenario {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read scenario file ${file}: ${(e as Error).message}`, '--scenario-file');
  }
  return parseScenario(source, { file });
}
