// A dependency-free function for Wisp: answers every request on $PORT.
// GET /?sleep=200 waits 200 ms before answering (to try the autoscaler under load).
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const target = process.env.TARGET ?? 'World';
const revision = process.env.K_REVISION ?? 'local';

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const sleep = Math.min(Number(url.searchParams.get('sleep') ?? 0) || 0, 60_000);
  setTimeout(() => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`Hello ${target}! (revision ${revision})\n`);
  }, sleep);
});

server.listen(port, () => console.log(`hello: listening on ${port} as ${revision}`));

// Knative's runtime contract: on SIGTERM finish in-flight requests, then exit.
process.on('SIGTERM', () => {
  console.log('hello: SIGTERM, draining');
  server.close(() => process.exit(0));
});
