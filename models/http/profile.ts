/**
 * The statistical half of the request model: per-route and per-parameter profiles learned by counting normal
 * traffic, and a scorer that turns each way a request departs from them into a surprisal (-ln of the estimated
 * probability that a normal request does so). Probabilities of "something never seen before" are leave-one-out
 * (Good-Turing-like) estimates: the share of training observations whose key is rare. So a field whose normal
 * values are always new (a password) barely scores a new value, while a field with a fixed set of values (a button
 * label, a product id) scores any new value high — no per-field thresholds to tune. Pure: no I/O, no clock.
 */
import { decodeFormValue, BODY_PARAM, type HttpRequest } from './request.ts';
import { valueShape, type ValueShape } from './shape.ts';

/** The components a request score is the sum of; also the request-level feature names, in this order. */
export const COMPONENTS = [
  'method', // a method never seen at all
  'route', // a path never seen
  'route_method', // a known path with a method it never had
  'param_name', // a parameter name the route never had
  'param_set', // a set of parameter names the route never had (missing or repeated ones)
  'value', // a value never seen for the parameter
  'shape', // value shape never seen (at the rarest of three levels of detail)
  'char_class', // a character class the parameter never contained
  'char_count', // a character class occurring a number of times never seen in one value (two `@` in an e-mail)
  'length', // a length outside the seen range
  'numeric_range', // a number outside the seen range of a numeric parameter
  'header_name', // a header name never seen
  'header_set', // a set of header names never seen
  'header_value', // the value components above, for headers
  'content_length', // Content-Length disagreeing with the body
] as const;
export type Component = (typeof COMPONENTS)[number];
const INDEX = Object.fromEntries(COMPONENTS.map((c, i) => [c, i])) as Record<Component, number>;

/** Keys kept per counted table; beyond this the rarest are dropped (they would score near zero anyway). */
const MAX_KEYS = 20_000;
const MIN_PROBABILITY = 1e-9;
/**
 * Structure (routes, methods, parameter and header names) is far more stable than values in a real application, so its
 * departures weigh more than their smoothed count estimate says. Chosen on the TUNE half of CSIC dev.
 */
export const STRUCTURE_WEIGHT = 2;
const STRUCTURAL = new Set<string>(['method', 'route', 'route_method', 'param_name', 'param_set', 'header_name', 'header_set']);
/** A parameter counts as numeric when this share of its values are numbers. */
const NUMERIC_SHARE = 0.99;

// ---------------------------------------------------------------------------------------------------------------
// Fitted (serialisable) profiles

export interface NoveltyModel {
  /** Seen keys and their counts. */
  keys: Map<string, number>;
  /** Surprisal of a key not in `keys`. */
  unseen: number;
}

/**
 * Range of a number over distinct values. Inside [min, max] is normal; outside, the surprisal is the smaller of a
 * leave-one-out estimate (`outside`: how often a value was alone at an end of the range, growing with the square of
 * the distance) and the distribution-free Cantelli bound from mean and variance (so a long tail is not a surprise).
 */
export interface RangeModel { min: number; max: number; mean: number; variance: number; outside: number }

function fitRange(xs: number[]): { model: RangeModel; counts: RareCount } {
  let min = Infinity, max = -Infinity, sum = 0, sq = 0;
  for (const x of xs) { if (x < min) min = x; if (x > max) max = x; sum += x; sq += x * x; }
  const mean = sum / xs.length;
  let atMin = 0, atMax = 0;
  for (const x of xs) { if (x === min) atMin++; if (x === max) atMax++; }
  const rare = (atMin === 1 ? 1 : 0) + (atMax === 1 ? 1 : 0);
  return { model: { min, max, mean, variance: Math.max(0, sq / xs.length - mean * mean), outside: 0 }, counts: { rare, total: xs.length } };
}

export function rangeSurprisal(r: RangeModel, x: number): number {
  if (x >= r.min && x <= r.max) return 0;
  const d = x > r.max ? x - r.max : r.min - x;
  const sd = Math.sqrt(r.variance);
  const leaveOneOut = r.outside + 2 * Math.log((sd + d) / (sd + 1));
  if (r.variance === 0) return leaveOneOut;
  const fromMean = x - r.mean;
  return Math.min(leaveOneOut, surprisal(r.variance / (r.variance + fromMean * fromMean)));
}

/** Counts behind a novelty estimate, kept while fitting so that sparse fields can borrow from the others. */
interface RareCount { rare: number; total: number }

export interface ParamProfile {
  n: number;
  /** No value was rare: the field takes its values from a fixed set. */
  closed: boolean;
  value: NoveltyModel;
  fine: NoveltyModel;
  coarse: NoveltyModel;
  word: NoveltyModel;
  /** Character class -> number of values containing it; and the surprisal of a value with a new class. */
  classes: Map<string, number>;
  newClass: number;
  /** Character class -> range of its number of occurrences in one value (zero included). */
  classCounts: Map<string, RangeModel>;
  /** Classes every value has (count range starts above zero): a value without one departs too. */
  requiredClasses: string[];
  length: RangeModel;
  numeric?: RangeModel;
}

export interface RouteProfile {
  n: number;
  methods: NoveltyModel;
  paramSets: NoveltyModel;
  /** Parameter name -> requests carrying it; and the surprisal of a request carrying a new name. */
  names: Map<string, number>;
  newName: number;
}

export interface RequestProfiles {
  n: number;
  methods: NoveltyModel;
  paths: NoveltyModel;
  routes: Map<string, RouteProfile>;
  /** Keyed by `${path}\u0000${name}`. */
  params: Map<string, ParamProfile>;
  headerNames: Map<string, number>;
  newHeaderName: number;
  headerSets: NoveltyModel;
  headers: Map<string, ParamProfile>;
  /** Surprisal of a Content-Length that disagrees with the body. */
  contentLengthMismatch: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Learning

/** Header values not profiled: Content-Length is checked against the body instead. */
const SKIPPED_HEADER_VALUES = new Set(['content-length']);

export class ProfileLearner {
  private n = 0;
  private methods = new Map<string, number>();
  private paths = new Map<string, number>();
  private routes = new Map<string, { n: number; methods: Map<string, number>; sets: Map<string, number>; names: string[][] }>();
  private params = new Map<string, string[]>();
  private headerNames: string[][] = [];
  private headerSets = new Map<string, number>();
  private headers = new Map<string, string[]>();
  private contentLength = { checked: 0, mismatched: 0 };

  /** How many pseudo-observations of the all-fields average a field's shape estimates start from. */
  constructor(private readonly priorWeight = PRIOR_WEIGHT) {}

  add(request: HttpRequest): void {
    this.n++;
    bump(this.methods, request.method);
    bump(this.paths, request.path);
    let route = this.routes.get(request.path);
    if (!route) this.routes.set(request.path, (route = { n: 0, methods: new Map(), sets: new Map(), names: [] }));
    route.n++;
    bump(route.methods, request.method);
    const names = paramNames(request);
    bump(route.sets, nameSetKey(names));
    route.names.push(unique(names));
    for (const [name, value] of paramValues(request)) push(this.params, paramKey(request.path, name), value);
    const headerNames = request.headers.map(([name]) => name);
    this.headerNames.push(unique(headerNames));
    bump(this.headerSets, nameSetKey(headerNames));
    for (const [name, value] of request.headers) if (!SKIPPED_HEADER_VALUES.has(name)) push(this.headers, name, value);
    const mismatch = contentLengthMismatch(request);
    if (mismatch !== undefined) {
      this.contentLength.checked++;
      if (mismatch) this.contentLength.mismatched++;
    }
  }

  fit(): RequestProfiles {
    const routes = new Map<string, RouteProfile>();
    for (const [path, r] of this.routes) {
      const { df, unseen } = documentFrequency(r.names);
      routes.set(path, { n: r.n, methods: novelty(r.methods), paramSets: novelty(r.sets), names: df, newName: unseen });
    }
    const fitted = new Map<string, FittedParam>();
    for (const [key, values] of this.params) fitted.set('p' + key, fitParam(values));
    for (const [name, values] of this.headers) fitted.set('h' + name, fitParam(values));
    borrowStrength([...fitted.values()], this.priorWeight);
    const params = new Map<string, ParamProfile>();
    const headers = new Map<string, ParamProfile>();
    for (const [key, f] of fitted) (key[0] === 'p' ? params : headers).set(key.slice(1), f.profile);
    const headerDf = documentFrequency(this.headerNames);
    const c = this.contentLength;
    return {
      n: this.n,
      methods: novelty(this.methods),
      paths: novelty(this.paths),
      routes,
      params,
      headerNames: headerDf.df,
      newHeaderName: headerDf.unseen,
      headerSets: novelty(this.headerSets),
      headers,
      contentLengthMismatch: surprisal((c.mismatched + 0.5) / (c.checked + 1)),
    };
  }
}

/**
 * Value novelty is counted over occurrences; everything else over distinct values, because the scorer only looks at
 * the shape of a value it has not seen: what matters is how often a *new* value has a new shape, a new character
 * class or an unseen length. (Counting occurrences would let one session's repeated cookie make its shape common.)
 */
type ShapeKind = 'fine' | 'coarse' | 'word' | 'classes' | 'length' | 'numeric';
const SHAPE_KINDS: ShapeKind[] = ['fine', 'coarse', 'word', 'classes', 'length', 'numeric'];
type FittedParam = { profile: ParamProfile; counts: Record<ShapeKind, RareCount>; classCounts: Map<string, RareCount> };

function fitParam(values: string[]): FittedParam {
  const counts = new Map<string, number>(), fine = new Map<string, number>(), coarse = new Map<string, number>(), word = new Map<string, number>();
  for (const value of values) bump(counts, value);
  const shapes: ValueShape[] = [];
  const numbers: number[] = [];
  for (const value of counts.keys()) {
    const s = valueShape(value);
    shapes.push(s);
    bump(fine, s.fine);
    bump(coarse, s.coarse);
    bump(word, s.word);
    if (s.numeric !== undefined) numbers.push(s.numeric);
  }
  const distinct = counts.size;
  const classRare = documentFrequency(shapes.map((s) => s.classes), 1);
  const length = fitRange(shapes.map((s) => s.length));
  const classCounts = new Map<string, RangeModel>();
  const classCountRare = new Map<string, RareCount>();
  const requiredClasses: string[] = [];
  for (const cls of classRare.df.keys()) {
    const xs = shapes.map((s) => { const k = s.classes.indexOf(cls); return k < 0 ? 0 : s.classCounts[k]; });
    const r = fitRange(xs);
    classCounts.set(cls, r.model);
    classCountRare.set(cls, r.counts);
    if (r.model.min > 0) requiredClasses.push(cls);
  }
  const fineN = novelty(fine, 1), coarseN = novelty(coarse, 1), wordN = novelty(word, 1);
  const valueNovelty = novelty(counts);
  const profile: ParamProfile = {
    n: values.length,
    closed: values.length >= 20 && valueNovelty.rare === 0,
    value: valueNovelty,
    fine: fineN,
    coarse: coarseN,
    word: wordN,
    classes: classRare.df,
    newClass: classRare.unseen,
    classCounts,
    requiredClasses,
    length: length.model,
  };
  let numericRare: RareCount = { rare: 0, total: 0 };
  if (distinct >= 10 && numbers.length >= NUMERIC_SHARE * distinct) {
    const r = fitRange(numbers);
    profile.numeric = r.model;
    numericRare = r.counts;
  }
  const rc = (x: RareCount): RareCount => ({ rare: x.rare, total: x.total });
  return {
    profile,
    counts: { fine: rc(fineN), coarse: rc(coarseN), word: rc(wordN), classes: rc(classRare), length: length.counts, numeric: numericRare },
    classCounts: classCountRare,
  };
}

/**
 * A field with few distinct values says little about how often its new values look new (two button labels are two
 * shapes, so the raw estimate is "always new"). Each field's shape estimates therefore start from the average over
 * all fields, worth `weight` distinct values, and move towards the field's own rate as it has more.
 */
const PRIOR_WEIGHT = 10;

function borrowStrength(fields: FittedParam[], weight: number): void {
  {
    let rare = 0, total = 0;
    for (const f of fields) for (const c of f.classCounts.values()) { rare += c.rare; total += c.total; }
    const prior = total > 0 ? rare / total : 0.5;
    for (const f of fields) {
      for (const [cls, c] of f.classCounts) {
        f.profile.classCounts.get(cls)!.outside = surprisal((c.rare + weight * prior + 0.01) / (c.total + weight + 0.02));
      }
    }
  }
  for (const kind of SHAPE_KINDS) {
    let rare = 0, total = 0;
    for (const f of fields) {
      rare += f.counts[kind].rare;
      total += f.counts[kind].total;
    }
    const prior = total > 0 ? rare / total : 0.5;
    for (const f of fields) {
      const c = f.counts[kind];
      const u = surprisal((c.rare + weight * prior + 0.01) / (c.total + weight + 0.02));
      const profile = f.profile;
      if (kind === 'classes') profile.newClass = u;
      else if (kind === 'length') profile.length.outside = u;
      else if (kind === 'numeric') { if (profile.numeric) profile.numeric.outside = u; }
      else profile[kind].unseen = u;
    }
  }
}

/**
 * Leave-one-out novelty: P(new key) ~ share of observations whose key is rare (seen at most RARE times), smoothed.
 * RARE is 2, not the textbook 1 (Good-Turing), because real traffic repeats a value within a short exchange (a form
 * shown with GET and submitted with POST carries the same values): a key seen twice is as good as new.
 */
const RARE = 2;

function novelty(counts: Map<string, number>, rareUpTo = RARE): NoveltyModel & RareCount {
  let total = 0, rare = 0;
  for (const c of counts.values()) {
    total += c;
    if (c <= rareUpTo) rare += c;
  }
  let keys = counts;
  if (counts.size > MAX_KEYS) keys = new Map([...counts].sort((a, b) => b[1] - a[1]).slice(0, MAX_KEYS));
  return { keys, unseen: surprisal((rare + 0.5) / (total + 1)), rare, total };
}

/** For sets of items per observation: item -> observations containing it; P(an observation brings a new item). */
function documentFrequency(sets: string[][], rareUpTo = RARE): { df: Map<string, number>; unseen: number } & RareCount {
  const df = new Map<string, number>();
  for (const set of sets) for (const item of set) bump(df, item);
  let withRare = 0;
  for (const set of sets) if (set.some((item) => df.get(item)! <= rareUpTo)) withRare++;
  return { df, unseen: surprisal((withRare + 0.5) / (sets.length + 1)), rare: withRare, total: sets.length };
}

// ---------------------------------------------------------------------------------------------------------------
// Scoring

export interface Contribution {
  component: Component;
  /** Parameter or header the contribution comes from, when there is one. */
  field?: string;
  score: number;
}

export interface ScoreDetail {
  /** Sum of surprisals per component, in COMPONENTS order (the request-level feature vector). */
  components: Float64Array;
  /** Present when asked for: what contributed, largest first. */
  contributions?: Contribution[];
}

/** Scores requests against fitted profiles; caches the scores of repeated header values. */
export class ProfileScorer {
  private headerCache = new Map<string, number>();
  private headerNamesCache = new Map<string, Contribution[]>();
  private paramNamesCache = new Map<string, Contribution[]>();
  /** path -> parameter name -> profile (saves building a key per parameter). */
  private routeParams = new Map<string, Map<string, ParamProfile>>();
  constructor(readonly profiles: RequestProfiles) {
    for (const [key, profile] of profiles.params) {
      const [path, name] = key.split('\u0000');
      let m = this.routeParams.get(path);
      if (!m) this.routeParams.set(path, (m = new Map()));
      m.set(name, profile);
    }
  }

  score(request: HttpRequest, options: { explain?: boolean } = {}): ScoreDetail {
    const p = this.profiles;
    const components = new Float64Array(COMPONENTS.length);
    const contributions: Contribution[] | undefined = options.explain ? [] : undefined;
    const add = (component: Component, score: number, field?: string) => {
      if (score <= 0) return;
      if (STRUCTURAL.has(component)) score *= STRUCTURE_WEIGHT;
      components[INDEX[component]] += score;
      contributions?.push({ component, field, score });
    };

    if (!p.methods.keys.has(request.method)) add('method', p.methods.unseen);
    const route = p.routes.get(request.path);
    if (!route) add('route', p.paths.unseen);
    else {
      if (!route.methods.keys.has(request.method)) add('route_method', route.methods.unseen);
      // Judge each ordered list of parameter names once per route.
      let ordered = request.path + '\n';
      for (const [name] of request.params) ordered += name + '\n';
      if (request.rawBody) ordered += BODY_PARAM;
      let structure = this.paramNamesCache.get(ordered);
      if (!structure) {
        structure = [];
        const names = paramNames(request);
        if (!route.paramSets.keys.has(nameSetKey(names))) structure.push({ component: 'param_set', score: route.paramSets.unseen });
        for (const name of unique(names)) if (!route.names.has(name)) structure.push({ component: 'param_name', field: name, score: route.newName });
        if (this.paramNamesCache.size >= 10_000) this.paramNamesCache.clear();
        this.paramNamesCache.set(ordered, structure);
      }
      for (const c of structure) add(c.component, c.score, c.field);
      const fields = this.routeParams.get(request.path);
      if (fields) {
        for (const [name, raw] of request.params) {
          const profile = fields.get(name);
          if (profile) scoreValue(profile, decodeFormValue(raw), add, name, false);
        }
        const body = request.rawBody ? fields.get(BODY_PARAM) : undefined;
        if (body) scoreValue(body, request.rawBody, add, BODY_PARAM, false);
      }
    }

    // Clients send the same headers in the same order: judge each ordered list of names once.
    let orderedNames = '';
    for (const [name] of request.headers) orderedNames += name + '\n';
    let headerStructure = this.headerNamesCache.get(orderedNames);
    if (!headerStructure) {
      headerStructure = [];
      const headerNames = request.headers.map(([name]) => name);
      if (!p.headerSets.keys.has(nameSetKey(headerNames))) headerStructure.push({ component: 'header_set', score: p.headerSets.unseen });
      for (const name of unique(headerNames)) if (!p.headerNames.has(name)) headerStructure.push({ component: 'header_name', field: name, score: p.newHeaderName });
      if (this.headerNamesCache.size >= 1000) this.headerNamesCache.clear();
      this.headerNamesCache.set(orderedNames, headerStructure);
    }
    for (const c of headerStructure) add(c.component, c.score, c.field);
    for (const [name, value] of request.headers) {
      const profile = p.headers.get(name);
      if (!profile) continue;
      if (contributions) {
        scoreValue(profile, value, add, name, true);
        continue;
      }
      // Header values repeat across requests (one client, one browser): score each distinct one once.
      const key = name + '\u0000' + value;
      let cached = this.headerCache.get(key);
      if (cached === undefined) {
        cached = 0;
        scoreValue(profile, value, (_c, s) => { cached! += s; }, name, true);
        if (this.headerCache.size >= 10_000) this.headerCache.clear();
        this.headerCache.set(key, cached);
      }
      if (cached > 0) components[INDEX.header_value] += cached;
    }
    if (contentLengthMismatch(request)) add('content_length', p.contentLengthMismatch);
    contributions?.sort((a, b) => b.score - a.score);
    return { components, contributions };
  }
}

function scoreValue(
  profile: ParamProfile, value: string,
  add: (component: Component, score: number, field?: string) => void, field: string, isHeader: boolean,
): void {
  const c = (component: Component): Component => (isHeader ? 'header_value' : component);
  if (profile.value.keys.has(value)) return; // a value seen in training departs from nothing
  // A closed vocabulary (every value seen many times: a button label, a mode) is structure, and weighs as such.
  add(c('value'), profile.closed ? profile.value.unseen * STRUCTURE_WEIGHT : profile.value.unseen, field);
  const s = valueShape(value);
  // The shape levels are nested (a new word-level shape is a new fine one too): the rarest novel level counts.
  let shape = 0;
  if (!profile.fine.keys.has(s.fine)) shape = profile.fine.unseen;
  if (!profile.coarse.keys.has(s.coarse)) shape = Math.max(shape, profile.coarse.unseen);
  if (!profile.word.keys.has(s.word)) shape = Math.max(shape, profile.word.unseen);
  let newClasses = 0;
  for (const cls of s.classes) if (!profile.classes.has(cls)) newClasses++;
  // More than one new class is more surprising, but not independently so.
  const classes = newClasses > 0 ? profile.newClass + 2 * Math.log(newClasses) : 0;
  add(c('shape'), shape, field);
  add(c('char_class'), classes, field);
  let countScore = 0;
  for (let k = 0; k < s.classes.length; k++) {
    const range = profile.classCounts.get(s.classes[k]);
    if (range) countScore = Math.max(countScore, rangeSurprisal(range, s.classCounts[k]));
  }
  for (const cls of profile.requiredClasses) if (!s.classes.includes(cls)) countScore = Math.max(countScore, rangeSurprisal(profile.classCounts.get(cls)!, 0));
  add(c('char_count'), countScore, field);
  add(c('length'), rangeSurprisal(profile.length, s.length), field);
  if (profile.numeric && s.numeric !== undefined) add(c('numeric_range'), rangeSurprisal(profile.numeric, s.numeric), field);
}

// ---------------------------------------------------------------------------------------------------------------
// Shared helpers

/** Decoded parameter values, plus a non-form body as one pseudo-parameter. */
function paramValues(request: HttpRequest): Array<[string, string]> {
  const out: Array<[string, string]> = request.params.map(([name, raw]) => [name, decodeFormValue(raw)]);
  if (request.rawBody) out.push([BODY_PARAM, request.rawBody]);
  return out;
}

function paramNames(request: HttpRequest): string[] {
  const names = request.params.map(([name]) => name);
  if (request.rawBody) names.push(BODY_PARAM);
  return names;
}

function contentLengthMismatch(request: HttpRequest): boolean | undefined {
  const header = request.headers.find(([name]) => name === 'content-length');
  if (!header) return undefined;
  return Number(header[1]) !== request.bodyBytes;
}

export function paramKey(path: string, name: string): string {
  return path + '\u0000' + name;
}

function nameSetKey(names: string[]): string {
  return [...names].sort().join('&');
}

function unique(items: string[]): string[] {
  return items.length < 2 ? items : [...new Set(items)];
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function surprisal(p: number): number {
  return -Math.log(Math.max(MIN_PROBABILITY, Math.min(1, p)));
}
