/** Request bodies within bounds: a cap on the bytes read and on what gzip may inflate to (a gzip bomb stops early). */
import type { IncomingMessage } from 'node:http';
import { gunzip } from 'node:zlib';
import { ReceiverError } from './responses.ts';

/** Reads the body, refusing more than `maxBytes` (Content-Length is checked before reading). */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    return Promise.reject(new ReceiverError('too_large', `request body of ${declared} bytes is over the limit of ${maxBytes} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBytes) {
        done = true;
        req.pause();
        reject(new ReceiverError('too_large', `request body is over the limit of ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', (e) => {
      if (done) return;
      done = true;
      reject(new ReceiverError('malformed', `request body could not be read: ${e.message}`));
    });
    req.on('aborted', () => {
      if (done) return;
      done = true;
      reject(new ReceiverError('malformed', 'client aborted the request body'));
    });
  });
}

/** gunzip that stops as soon as the output passes `maxBytes` (zlib's maxOutputLength), on the libuv pool. */
export function gunzipCapped(body: Buffer, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gunzip(body, { maxOutputLength: maxBytes }, (error, out) => {
      if (!error) return resolve(out);
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
        reject(new ReceiverError('too_large', `gzip body inflates past the limit of ${maxBytes} bytes`));
      } else reject(new ReceiverError('malformed', `gzip body is invalid: ${error.message}`));
    });
  });
}
