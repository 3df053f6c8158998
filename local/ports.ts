import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer } from 'node:net';

/** Asks the OS for a port that is free right now on 127.0.0.1 (for child processes that cannot listen on port 0). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      if (address === null || typeof address === 'string') {
        probe.close();
        reject(new Error('could not read the probe socket address'));
        return;
      }
      probe.close(() => resolve(address.port));
    });
  });
}

/** Rejects when something already listens on `port` on any interface (a child would otherwise fail or, worse, we would talk to a stranger). */
export async function assertPortFree(port: number, purpose: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(Object.assign(new Error(`${purpose} port ${port} is already in use (${error.code})`), { code: error.code })),
    );
    probe.listen(port, () => probe.close(() => resolve()));
  });
}

/** Starts `server` listening (port 0: any free one; 127.0.0.1 unless told otherwise) and says where. */
export async function listen(
  server: { listen(port: number, host: string, done: () => void): unknown; once(event: 'error', fn: (error: Error) => void): unknown; address(): unknown },
  port = 0,
  host = '127.0.0.1',
): Promise<{ port: number; url: string }> {
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolveListen());
  });
  const address = server.address() as { port: number; address: string };
  return { port: address.port, url: `http://${address.address}:${address.port}` };
}

export interface DrainingServer {
  server: Server;
  port: number;
  url: string;
  /** Stops taking connections, waits for the requests being answered, then closes (once, however often called). */
  close(): Promise<void>;
}

/**
 * An HTTP server for a local box (the API gateway, the Firehose API): every request is answered by `handle`;
 * one that throws gets `onError` (an answer if none was sent, else the socket is destroyed). close() lets the
 * requests in flight finish first, so a stop never cuts an answer the caller is waiting for.
 */
export async function startDrainingServer(
  handle: (request: IncomingMessage, response: ServerResponse) => Promise<void>,
  onError: (error: unknown, response: ServerResponse) => void,
  port = 0,
): Promise<DrainingServer> {
  const inFlight = new Set<Promise<void>>();
  const server = createHttpServer((request, response) => {
    const handled = handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) onError(error, response);
      else response.destroy();
    });
    inFlight.add(handled);
    void handled.finally(() => inFlight.delete(handled));
  });
  const { port: bound, url } = await listen(server, port);
  let closing: Promise<void> | undefined;
  return {
    server,
    port: bound,
    url,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.allSettled([...inFlight]);
        // Keep-alive sockets that are idle now would otherwise hold close() open.
        server.closeIdleConnections();
        await closed;
      })()),
  };
}
