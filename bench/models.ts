/**
 * `npm run bench:models`: scoring throughput of the three model families, per core.
 * Entity-window model (target >= 400,000 vectors/s), request model (>= 20,000 requests/s, bench/models/http.ts, beside the signatures and the combined scorer),
 * series detector (>= 1,000,000 points/s, bench/models/series.ts). A family whose bench module is missing or fails is
 * reported under `missing`. The last line of stdout is one JSON object with every figure.
 */
import { benchWindowModel } from './models/window.ts';

const figures: Record<string, unknown> = {};
const missing: Record<string, string> = {};

async function optional(label: string, modulePath: string, exportName: string): Promise<void> {
  let mod: Record<string, unknown>;
  try {
    mod = await import(modulePath);
  } catch (error) {
    missing[label] = `${modulePath} not importable: ${(error as Error).message.split('\n')[0]}`;
    return;
  }
  const fn = mod[exportName];
  if (typeof fn !== 'function') {
    missing[label] = `${modulePath} has no ${exportName}()`;
    return;
  }
  try {
    const result = await (fn as () => Promise<unknown>)();
    figures[label] = result;
    process.stderr.write(`${label}: ${JSON.stringify(result)}\n`);
  } catch (error) {
    missing[label] = `${exportName}() failed: ${(error as Error).message}`;
  }
}

const window = await benchWindowModel({ vectors: Number(process.env.BENCH_WINDOW_VECTORS ?? 400_000) });
figures.window = { ...window, targetVectorsPerSecond: 400_000, meetsTarget: window.windowVectorsPerSecond >= 400_000 };
process.stderr.write(`window: ${JSON.stringify(figures.window)}\n`);
await optional('http', './models/http.ts', 'benchHttpModel');
await optional('series', './models/series.ts', 'benchSeries');
process.stdout.write(JSON.stringify({ ...figures, missing }) + '\n');
