import { beforeAll, describe, expect, it } from 'vitest';
import { assessRequests } from './assess.ts';
import { HttpModel } from './model.ts';
import { parseHttpRow, type HttpRow } from './request.ts';
import { syntheticRows, type Row } from './synthetic.ts';

/** An internal call on a route the model saw a handful of times: a report with an id no request had before. */
const rare = (i: number): Row => ({
  id: `rare-${i}`, req_method: 'POST', req_path: '/internal/report.jsp', req_body: `order=${(7919 * (i + 3)).toString(16)}&kind=${i % 2 ? 'full' : 'short'}`,
  req_headers: JSON.stringify({ Host: 'report:8080', 'Content-Type': 'application/x-www-form-urlencoded' }), label: 'normal',
});

describe('assessRequests: the model judges routes it was trained on enough', () => {
  let model: HttpModel;
  beforeAll(async () => {
    const rows = [...syntheticRows(1500, 3), ...Array.from({ length: 4 }, (_, i) => rare(i))];
    model = await HttpModel.train(rows.map((r) => parseHttpRow(r)), { epochs: 5 });
  }, 60_000);

  it('leaves a rarely trained route to the signatures, and still lets the model judge well-known routes', () => {
    const input = [{ row: rare(1000) as unknown as HttpRow }, { row: syntheticRows(1, 99)[0] as unknown as HttpRow }];
    expect(model.trainedOnRoute(parseHttpRow(rare(0)))).toBe(4);
    const judged = assessRequests(input, model, { falsePositiveRate: 0.0001 });
    const gated = assessRequests(input, model, { falsePositiveRate: 0.0001, minRouteRequests: 50 });
    // Ungated, the model has something to say about the rare route; gated, nothing (and no signature fires).
    expect(judged[0]!.risk).toBeGreaterThan(20);
    expect(judged[0]!.contributions.map((c) => c.feature)).toEqual(['model']);
    expect(gated[0]!).toMatchObject({ risk: 0, alert: false, contributions: [] });
    // The well-known route is judged the same either way.
    expect(gated[1]!.risk).toBe(judged[1]!.risk);
  });
});
