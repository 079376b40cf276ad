/**
 * The entity-window autoencoder (models/window) as a streaming detector: each feature vector is scored
 * by the loaded model; a calibrated score at or above the alert score is a finding, explained by the
 * features that carry most of the reconstruction error (what was seen, what is typical). Pure apart
 * from the model it holds; the stage swaps in a new champion with `useModel`.
 */
import { feature, type FeatureVector } from '../../schemas/feature-vector.ts';
import { severityOf, windowFields, exemplarLinks, type Finding } from '../../findings/finding.ts';
import { type WindowModel, type LoadedModel } from '../../models/index.ts';

export const ENTITY_WINDOW_DETECTOR = 'entity_window';

export interface EntityWindowSettings {
  /** Calibrated score (0–100) that raises a finding; default: the one stored with the model. */
  alertScore?: number;
  /** Windows with fewer requests are not judged (too little evidence). */
  minRequests: number;
  /** Features listed in a finding's explanation, largest share of the error first. */
  explainTop?: number;
}

/** The model in use and what it is called in findings. */
export type LoadedWindowModel = LoadedModel<WindowModel>;

const format = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(Math.abs(x) >= 10 ? 1 : 3));

export class EntityWindowDetector {
  private current: LoadedWindowModel;

  constructor(loaded: LoadedWindowModel, private readonly settings: EntityWindowSettings) {
    this.current = loaded;
  }

  get model(): LoadedWindowModel {
    return this.current;
  }

  /** Scores from now on with another model (a newly promoted champion). */
  useModel(loaded: LoadedWindowModel): void {
    this.current = loaded;
  }

  score(v: FeatureVector): Finding | undefined {
    if ((feature(v, 'request_count') ?? 0) < this.settings.minRequests) return undefined;
    const { model, name, version } = this.current;
    const [scored] = model.scoreVectors([v]);
    const alertScore = this.settings.alertScore ?? model.alertScore;
    if (!(scored.score >= alertScore)) return undefined;
    const top = scored.contributions.slice(0, this.settings.explainTop ?? 3);
    const riskScore = Math.round(Math.min(100, Math.max(0, scored.score)));
    const because = top.map((c) => `${c.feature} ${format(c.actual)} (typically ${format(c.typical)})`).join(', ');
    return {
      detector: ENTITY_WINDOW_DETECTOR,
      ruleName: 'Unusual operation window',
      ruleDescription: 'The entity-window autoencoder could not reconstruct this window of an operation from what it learned as normal',
      ...windowFields(v),
      riskScore,
      severity: severityOf(riskScore),
      message: `${v.service} ${v.operation ?? ''}: anomaly score ${scored.score.toFixed(1)} of 100: ${because}`,
      explanation: top.map((c) => ({ feature: c.feature, actual: c.actual, typical: c.typical, share: c.share })),
      exemplars: exemplarLinks(v.exemplars),
      model: { name, version },
    };
  }
}
