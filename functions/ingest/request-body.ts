// Turns an API Gateway payload-v2 body into text: checks the size before and after decompression, and
// bounds gunzip so a gzip bomb costs at most MAX_REQUEST_BYTES of memory.
//
// The declared media type is not checked: real SDKs label JSON text/plain (sendBeacon and analytics.js,
// to avoid a CORS preflight) and application/x-www-form-urlencoded (RudderStack's Node SDK, its HTTP
// client's default). A body is accepted for being JSON, and refused with the parser's reason when it is not.
import { gunzipSync } from 'node:zlib';
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors.js';
import { MAX_REQUEST_BYTES } from './limits.js';

export interface RawBody {
  body?: string | undefined;
  isBase64Encoded?: boolean | undefined;
  contentEncoding?: string | undefined;
}

export function decodeBody({ body, isBase64Encoded, contentEncoding }: RawBody): string {
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
