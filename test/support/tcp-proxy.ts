import { createServer, connect, type Server, type Socket } from 'node:net';
import { freePort } from './wait.js';

/** A TCP proxy (e.g. to Redis) that a test can stop, dropping every connection, and start again on the same port. */
export async function startTcpProxy(target: URL): Promise<{ port: number; stop(): Promise<void>; start(): Promise<void> }> {
  const port = await freePort();
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const start = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const srv = createServer((client) => {
        const upstream = connect(Number(target.port === '' ? 6379 : target.port), target.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => {
        server = srv;
        resolve();
      });
    });
  const stop = async (): Promise<void> => {
    const srv = server;
    server = undefined;
    for (const s of sockets) s.destroy();
    sockets.clear();
    if (srv !== undefined) await new Promise<void>((r) => srv.close(() => r()));
  };
  await start();
  return { port, start, stop };
}
