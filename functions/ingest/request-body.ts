// Turns an API Gateway payload-v2 body into text: checks the media type, the size before and after
// decompression, and bounds gunzip so a gzip bomb costs at most MAX_REQUEST_BYTES of memory.
import { gunzipSync } from 'node:zlib';
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors.js';
import { MAX_REQUEST_BYTES } from './limits.js';

// text/plain is what sendBeacon and analytics.js send to avoid a CORS preflight; the body is still JSON.
const JSON_MEDIA_TYPES = new Set(['application/json', 'text/plain']);

export interface RawBody {
  body?: string | undefined;
  isBase64Encoded?: boolean | undefined;
  contentType?: string | undefined;
  contentEncoding?: string | undefined;
}

export function decodeBody({ body, isBase64Encoded, contentType, contentEncoding }: RawBody): string {
  checkMediaType(contentType);
  if (!body) throw new BadRequestError('body is empty: send a JSON object');
  const bytes = isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  if (bytes.byteLength > MAX_REQUEST_BYTES) {
    throw new PayloadTooLargeError(`request is ${bytes.byteLength} bytes; the limit is ${MAX_REQUEST_BYTES}`);
  }
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return bytes.toString('utf8');
  if (encoding !== 'gzip' && encoding !== 'x-gzip') {
    throw new UnsupportedMediaTypeError(`content-encoding ${encoding} is not supported: send gzip or no encoding`);
  }
  return gunzipBounded(bytes).toString('utf8');
}

function gunzipBounded(bytes: Buffer): Buffer {
  try {
    return gunzipSync(bytes, { maxOutputLength: MAX_REQUEST_BYTES });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new PayloadTooLargeError(`decompressed request is over the limit of ${MAX_REQUEST_BYTES} bytes`);
    }
    throw new BadRequestError(`body is not valid gzip: ${(error as Error).message}`, { cause: error });
  }
}

function checkMediaType(contentType: string | undefined): void {
  // No content type at all is taken as JSON, as Segment does; a wrong one is refused.
  if (contentType === undefined || contentType.trim() === '') return;
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  if (JSON_MEDIA_TYPES.has(mediaType) || mediaType.endsWith('+json')) return;
  throw new UnsupportedMediaTypeError(`content-type ${mediaType} is not supported: send application/json`);
}
