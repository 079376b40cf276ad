/** Reading Pixie http_events exports from disk (JSON Lines, optionally gzip-compressed). */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { DecodeError } from '../../core/errors.ts';
import { parsePixieRows, type PixieHttpRow } from './http-events.ts';

export async function readPixieRowsFile(path: string): Promise<PixieHttpRow[]> {
  let bytes: Buffer = await readFile(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new DecodeError(`${path}: not a valid gzip file (${(error as Error).message})`, { cause: error });
    }
  }
  try {
    return parsePixieRows(bytes.toString('utf8'));
  } catch (error) {
    if (error instanceof DecodeError) throw new DecodeError(`${path}: ${error.message}`, { cause: error });
    throw error;
  }
}
