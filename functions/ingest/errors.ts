// Errors that end a request early with a 4xx or 5xx. Only errors carrying a statusCode become
// responses; anything else is a real fault and is logged as one.
import { PipelineError } from '../shared/errors.js';

export class HttpError extends PipelineError {
  override name = 'HttpError';
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class BadRequestError extends HttpError {
  override name = 'BadRequestError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(400, message, {}, options);
  }
}

export class UnauthorizedError extends HttpError {
  override name = 'UnauthorizedError';
  constructor(message: string) {
    super(401, message, { 'www-authenticate': 'Basic realm="clickstream", charset="UTF-8"' });
  }
}

export class PayloadTooLargeError extends HttpError {
  override name = 'PayloadTooLargeError';
  constructor(message: string) {
    super(413, message);
  }
}

export class UnsupportedMediaTypeError extends HttpError {
  override name = 'UnsupportedMediaTypeError';
  constructor(message: string) {
    super(415, message);
  }
}
