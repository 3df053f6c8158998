// An S3 endpoint with nothing in it: every GET answers 404 NoSuchKey, as S3 does for a missing key. For
// bundles tested outside the local stack that read an optional object (the suppression list) at their first call.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function withEmptyS3<T>(use: (environment: Record<string, string>) => Promise<T>): Promise<T> {
  const server = createServer((request, response) => {
    request.resume();
    response.writeHead(404, { 'content-type': 'application/xml' });
    response.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    return await use({
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      LAKE_BUCKET_NAME: 'lake',
    });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
