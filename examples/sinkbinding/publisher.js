// A dependency-free function that sends events without knowing where they go: a SinkBinding gives it
// $K_SINK (the resolved sink URL) and $K_CE_OVERRIDES ({"extensions":{...}}), as Knative does.
// POST / with a JSON body publishes it as a dev.example.order event; the answer says where it went.
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';

const port = Number(process.env.PORT ?? 8080);

/** ce-* headers for the K_CE_OVERRIDES extensions; a malformed value is reported, not fatal. */
function overrideHeaders() {
  const raw = process.env.K_CE_OVERRIDES;
  if (!raw) return {};
  try {
    const ext = JSON.parse(raw).extensions ?? {};
    return Object.fromEntries(Object.entries(ext).map(([k, v]) => [`ce-${k}`, String(v)]));
  } catch (err) {
    console.error(`publisher: ignoring K_CE_OVERRIDES: ${err.message}`);
    return {};
  }
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const sink = process.env.K_SINK;
    if (!sink) {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('publisher: no K_SINK: bind this Service with a SinkBinding\n');
      return;
    }
    const body = chunks.length > 0 ? Buffer.concat(chunks) : Buffer.from('{}');
    const id = randomUUID();
    try {
      const sent = await fetch(sink, {
        method: 'POST',
        headers: {
          ...overrideHeaders(),
          'ce-specversion': '1.0',
          'ce-id': id,
          'ce-type': 'dev.example.order',
          'ce-source': `/services/${process.env.K_SERVICE ?? 'publisher'}`,
          'content-type': 'application/json',
        },
        body,
        signal: AbortSignal.timeout(5000),
      });
      res.writeHead(sent.ok ? 202 : 502, { 'content-type': 'text/plain' });
      res.end(`event ${id} -> ${sink}: ${sent.status}\n`);
    } catch (err) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`event ${id} -> ${sink}: ${err.message}\n`);
    }
  });
});

server.listen(port, () => console.log(`publisher: listening on ${port}, K_SINK=${process.env.K_SINK ?? '(unset)'}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
