/**
 * The NAB v1.1 scoring rules, written from the description and code of numenta/NAB (sweeper.py, optimizer.py,
 * runner.normalize): pure functions over arrays, no I/O.
 *
 * - Rows in the probationary period (the first min(floor(15% of rows), 750)) are not scored at all.
 * - A row inside a labelled window, if detected, earns tpWeight * sigmoid(position) / sigmoid(-1 position):
 *   1 at the window's left edge falling towards 0 at its right edge. Only the best (earliest) detection of a
 *   window counts; a window with no detection costs fnWeight.
 * - A detection outside every window costs fpWeight * scaledSigmoid(distance past the previous window), i.e. almost
 *   nothing just after a window and the full fpWeight far from one (or before the first window).
 * - One threshold for the whole corpus, per profile: the one giving the largest total.
 * - Normalised so that the null detector (constant 0.5) scores 0 and a perfect one (every window caught at its
 *   left edge, no false positive) scores 100.
 */

export interface CostMatrix {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
  tnWeight?: number;
}

export interface Profile {
  name: string;
  costMatrix: CostMatrix;
}

/** NAB's three application profiles (config/profiles.json). */
export const NAB_PROFILES: readonly Profile[] = [
  { name: 'standard', costMatrix: { tpWeight: 1, fnWeight: 1, fpWeight: 0.11, tnWeight: 1 } },
  { name: 'reward_low_FP_rate', costMatrix: { tpWeight: 1, fnWeight: 1, fpWeight: 0.22, tnWeight: 1 } },
  { name: 'reward_low_FN_rate', costMatrix: { tpWeight: 1, fnWeight: 2, fpWeight: 0.11, tnWeight: 1 } },
];

export const PROBATION_PERCENT = 0.15;

/** A labelled anomaly window, both ends inclusive, as epoch milliseconds that must match row timestamps. */
export interface Window {
  startMs: number;
  endMs: number;
}

/** One data file: its row timestamps, the detector's score per row, and its labelled windows. */
export interface ScoredFile {
  name: string;
  timestampsMs: ArrayLike<number>;
  anomalyScores: ArrayLike<number>;
  windows: readonly Window[];
}

/** 2 * sigmoid(-5x) - 1: +0.987 at x = -1 (left window edge), 0 at x = 0 (right edge), -1 beyond x = 3. */
export function scaledSigmoid(relativePosition: number): number {
  if (relativePosition > 3) return -1;
  return 2 / (1 + Math.exp(5 * relativePosition)) - 1;
}

export function probationaryLength(rows: number, probationPercent = PROBATION_PERCENT): number {
  return Math.min(Math.floor(probationPercent * rows), probationPercent * 5000);
}

/** Window index meaning "outside every window"; rows in the probationary period are dropped, not marked. */
export const NO_WINDOW = -1;

/** Each scorable row of a file: its anomaly score, its weighted sweep score, and its window (or NO_WINDOW). */
export interface SweepRows {
  anomalyScores: Float64Array;
  sweepScores: Float64Array;
  windowIds: Int32Array;
  /** Windows that have at least one scorable row; ids are 0..windowCount-1 offset by `firstWindowId`. */
  windowCount: number;
}

/**
 * Per-row sweep scores for one file (NAB `calcSweepScore`). `firstWindowId` lets several files share one id space.
 * Throws when a window edge is not one of the file's timestamps (NAB requires exact matches).
 */
export function sweepFile(file: ScoredFile, costMatrix: CostMatrix, firstWindowId = 0, probationPercent = PROBATION_PERCENT): SweepRows {
  const n = file.timestampsMs.length;
  if (file.anomalyScores.length !== n) {
    throw new RangeError(`${file.name}: ${file.anomalyScores.length} anomaly scores for ${n} rows`);
  }
  const firstIndex = new Map<number, number>();
  for (let i = 0; i < n; i++) if (!firstIndex.has(file.timestampsMs[i])) firstIndex.set(file.timestampsMs[i], i);
  const windows = [...file.windows].sort((a, b) => a.startMs - b.startMs);
  for (const w of windows) {
    for (const edge of [w.startMs, w.endMs]) {
      if (!firstIndex.has(edge)) {
        throw new RangeError(`${file.name}: window edge ${new Date(edge).toISOString()} is not a timestamp of the file`);
      }
    }
  }

  const maxTP = scaledSigmoid(-1);
  const probation = probationaryLength(n, probationPercent);
  const scorable = Math.max(0, n - Math.ceil(probation));
  const out: SweepRows = {
    anomalyScores: new Float64Array(scorable),
    sweepScores: new Float64Array(scorable),
    windowIds: new Int32Array(scorable),
    windowCount: 0,
  };

  let next = 0; // next window to enter
  let inWindow = false;
  let windowRight = -1;
  let windowWidth = 0;
  let windowLocalId = -1;
  let prevRight = -1;
  let prevWidth = 0;
  let localIds = 0; // windows seen so far (in or before probation)
  const scoredWindows = new Set<number>();
  let k = 0;
  for (let i = 0; i < n; i++) {
    const t = file.timestampsMs[i];
    if (!inWindow && next < windows.length && t === windows[next].startMs) {
      const w = windows[next++];
      inWindow = true;
      windowRight = firstIndex.get(w.endMs)!;
      windowWidth = windowRight - firstIndex.get(w.startMs)! + 1;
      windowLocalId = localIds++;
    }
    let sweep: number;
    if (inWindow) {
      sweep = (scaledSigmoid(-(windowRight - i + 1) / windowWidth) * costMatrix.tpWeight) / maxTP;
    } else {
      const unweighted = prevRight < 0 ? -1 : scaledSigmoid(Math.abs(prevRight - i) / (prevWidth - 1));
      sweep = unweighted * costMatrix.fpWeight;
    }
    if (i >= probation) {
      out.anomalyScores[k] = file.anomalyScores[i];
      out.sweepScores[k] = sweep;
      out.windowIds[k] = inWindow ? windowLocalId : NO_WINDOW;
      if (inWindow) scoredWindows.add(windowLocalId);
      k++;
    }
    if (inWindow && t === windows[next - 1].endMs) {
      inWindow = false;
      prevRight = i;
      prevWidth = windowWidth;
    }
  }
  // Renumber so only windows with scorable rows get ids, contiguous from firstWindowId.
  const renumber = new Map<number, number>();
  for (const id of [...scoredWindows].sort((a, b) => a - b)) renumber.set(id, firstWindowId + renumber.size);
  for (let j = 0; j < k; j++) if (out.windowIds[j] !== NO_WINDOW) out.windowIds[j] = renumber.get(out.windowIds[j])!;
  out.windowCount = renumber.size;
  return out;
}

export interface ThresholdScore {
  /** Rows with anomaly score >= threshold are detections. */
  threshold: number;
  score: number;
  tp: number;
  tn: number;
  fp: number;
  fn: number;
}

/** Concatenate the sweep rows of several files (their window ids must already be disjoint). */
export function concatSweeps(parts: readonly SweepRows[]): SweepRows {
  const total = parts.reduce((s, p) => s + p.anomalyScores.length, 0);
  const out: SweepRows = {
    anomalyScores: new Float64Array(total),
    sweepScores: new Float64Array(total),
    windowIds: new Int32Array(total),
    windowCount: parts.reduce((s, p) => s + p.windowCount, 0),
  };
  let at = 0;
  for (const p of parts) {
    out.anomalyScores.set(p.anomalyScores, at);
    out.sweepScores.set(p.sweepScores, at);
    out.windowIds.set(p.windowIds, at);
    at += p.anomalyScores.length;
  }
  return out;
}

/**
 * The score at every distinct threshold, from above the highest anomaly score (nothing detected) down to the lowest
 * (everything detected) — NAB `calcScoreByThreshold`. Window ids must be 0..windowCount-1.
 */
export function scoresByThreshold(rows: SweepRows, costMatrix: CostMatrix): ThresholdScore[] {
  const n = rows.anomalyScores.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => rows.anomalyScores[b] - rows.anomalyScores[a]);

  const best = new Float64Array(rows.windowCount).fill(-costMatrix.fnWeight);
  let windowSum = -costMatrix.fnWeight * rows.windowCount;
  let fpSum = 0;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < n; i++) if (rows.windowIds[i] !== NO_WINDOW) fn++;
  let tn = n - fn;

  const out: ThresholdScore[] = [];
  let threshold = 1.1;
  for (let j = 0; j < n; j++) {
    const i = order[j];
    const a = rows.anomalyScores[i];
    if (a !== threshold) {
      out.push({ threshold, score: windowSum + fpSum, tp, tn, fp, fn });
      threshold = a;
    }
    const w = rows.windowIds[i];
    if (w === NO_WINDOW) {
      fp++;
      tn--;
      fpSum += rows.sweepScores[i];
    } else {
      tp++;
      fn--;
      if (rows.sweepScores[i] > best[w]) {
        windowSum += rows.sweepScores[i] - best[w];
        best[w] = rows.sweepScores[i];
      }
    }
  }
  out.push({ threshold, score: windowSum + fpSum, tp, tn, fp, fn });
  return out;
}

/** The best threshold (the highest one on ties, as NAB's stable sort keeps). */
export function optimizeThreshold(rows: SweepRows, costMatrix: CostMatrix): ThresholdScore {
  const all = scoresByThreshold(rows, costMatrix);
  let best = all[0];
  for (const s of all) if (s.score > best.score) best = s;
  return best;
}

/** The raw score of rows at a fixed threshold (detections: anomaly score >= threshold). */
export function scoreAtThreshold(rows: SweepRows, costMatrix: CostMatrix, threshold: number, firstWindowId = 0): ThresholdScore {
  const best = new Float64Array(rows.windowCount).fill(-costMatrix.fnWeight);
  let fpSum = 0;
  let tp = 0;
  let tn = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < rows.anomalyScores.length; i++) {
    const detected = rows.anomalyScores[i] >= threshold;
    const w = rows.windowIds[i];
    if (w === NO_WINDOW) {
      if (detected) {
        fp++;
        fpSum += rows.sweepScores[i];
      } else tn++;
    } else if (detected) {
      tp++;
      best[w - firstWindowId] = Math.max(best[w - firstWindowId], rows.sweepScores[i]);
    } else fn++;
  }
  return { threshold, score: best.reduce((s, v) => s + v, 0) + fpSum, tp, tn, fp, fn };
}

export interface FileResult extends ThresholdScore {
  name: string;
  windows: number;
  /** Windows with at least one detection. */
  windowsDetected: number;
}

export interface ProfileResult {
  profile: string;
  threshold: number;
  rawScore: number;
  nullScore: number;
  perfectScore: number;
  /** 100 * (raw - null) / (perfect - null). */
  normalizedScore: number;
  tp: number;
  tn: number;
  fp: number;
  fn: number;
  windows: number;
  windowsDetected: number;
  files: FileResult[];
}

/**
 * Score a detector on a set of files for each profile: optimise the threshold over all files together, then report
 * the normalised score and a per-file breakdown at that threshold.
 */
export function scoreCorpus(files: readonly ScoredFile[], profiles: readonly Profile[] = NAB_PROFILES, probationPercent = PROBATION_PERCENT): ProfileResult[] {
  // Perfect = every labelled window caught (NAB counts all windows in the labels, even probationary ones).
  const labelledWindows = files.reduce((s, f) => s + f.windows.length, 0);
  return profiles.map((profile) => {
    const cm = profile.costMatrix;
    const perFile: SweepRows[] = [];
    const firstIds: number[] = [];
    let nextId = 0;
    for (const f of files) {
      firstIds.push(nextId);
      const rows = sweepFile(f, cm, nextId, probationPercent);
      nextId += rows.windowCount;
      perFile.push(rows);
    }
    const corpus = concatSweeps(perFile);
    const best = optimizeThreshold(corpus, cm);

    // The null detector: every row scores 0.5, with its own optimal threshold.
    const nullRows: SweepRows = { ...corpus, anomalyScores: new Float64Array(corpus.anomalyScores.length).fill(0.5) };
    const nullScore = optimizeThreshold(nullRows, cm).score;
    const perfectScore = labelledWindows * cm.tpWeight;

    const fileResults = files.map((f, i) => {
      const s = scoreAtThreshold(perFile[i], cm, best.threshold, firstIds[i]);
      const detected = new Set<number>();
      for (let j = 0; j < perFile[i].windowIds.length; j++) {
        if (perFile[i].windowIds[j] !== NO_WINDOW && perFile[i].anomalyScores[j] >= best.threshold) detected.add(perFile[i].windowIds[j]);
      }
      return { name: f.name, ...s, windows: f.windows.length, windowsDetected: detected.size };
    });
    return {
      profile: profile.name,
      threshold: best.threshold,
      rawScore: best.score,
      nullScore,
      perfectScore,
      normalizedScore: perfectScore === nullScore ? 0 : (100 * (best.score - nullScore)) / (perfectScore - nullScore),
      tp: best.tp,
      tn: best.tn,
      fp: best.fp,
      fn: best.fn,
      windows: labelledWindows,
      windowsDetected: fileResults.reduce((s, f) => s + f.windowsDetected, 0),
      files: fileResults,
    };
  });
}
