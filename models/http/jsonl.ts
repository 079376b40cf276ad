/** Streaming JSON-lines input (plain or gzip, told apart by the magic bytes) with line numbers. I/O only. */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { PeregrineError } from '../../core/errors.ts';

export type JsonLine = { line: number; value: unknown } | { line: number; error: string };

export async function* readJsonLines(file: string): AsyncGenerator<JsonLine> {
  let gzip = false;
  try {
    const handle = await open(file, 'r');
    const head = Buffer.alloc(2);
    await handle.read(head, 0, 2, 0);
    await handle.close();
    gzip = head[0] === 0x1f && head[1] === 0x8b;
  } catch (error) {
    throw new PeregrineError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  const raw = createReadStream(file);
  const stream = gzip ? raw.pipe(createGunzip()) : raw;
  const failure = new Promise<never>((_, reject) => {
    const fail = (error: Error) => reject(new PeregrineError(`cannot read ${file}: ${error.message}`, { cause: error }));
    raw.on('error', fail);
    stream.on('error', fail);
  });
  failure.catch(() => undefined);
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  const iterator = lines[Symbol.asyncIterator]();
  let line = 0;
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), failure]);
      if (next.done) break;
      line++;
      const text = next.value.trim();
      if (text === '') continue;
      try {
        yield { line, value: JSON.parse(text) };
      } catch {
        yield { line, error: 'not valid JSON' };
      }
    }
  } finally {
    lines.close();
    raw.destroy();
  }
}
