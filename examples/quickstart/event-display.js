// A dependency-free event subscriber, like Knative's event_display: logs every CloudEvent it receives
// (binary mode: ce-* headers; structured mode: application/cloudevents+json) and answers 202.
import { createServer } from 'node:http';

const CORE = ['specversion', 'type', 'source', 'id', 'time', 'subject', 'dataschema', 'datacontenttype'];

function fromRequest(headers, body) {
  const contentType = headers['content-type'] ?? '';
  if (contentType.startsWith('application/cloudevents+json')) {
    const { data, data_base64: dataBase64, ...attrs } = JSON.parse(body.toString('utf8'));
    return { attrs, data: dataBase64 !== undefined ? Buffer.from(dataBase64, 'base64').toString('utf8') : data };
  }
  const attrs = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('ce-')) attrs[name.slice(3)] = decodeURIComponent(String(value));
  }
  if (contentType) attrs.datacontenttype = contentType;
  return { attrs, data: body.toString('utf8') };
}

function show({ attrs, data }) {
  const lines = ['☁️  cloudevents.Event', 'Context Attributes,'];
  for (const key of CORE) if (attrs[key] !== undefined) lines.push(`  ${key}: ${attrs[key]}`);
  const extensions = Object.keys(attrs).filter((k) => !CORE.includes(k)).sort();
  if (extensions.length > 0) {
    lines.push('Extensions,');
    for (const key of extensions) lines.push(`  ${key}: ${attrs[key]}`);
  }
  if (data !== undefined && data !== '') {
    lines.push('Data,');
    let text = typeof data === 'string' ? data : JSON.stringify(data);
    try {
      text = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // not JSON: print as is
    }
    lines.push(...text.split('\n').map((l) => `  ${l}`));
  }
  console.log(lines.join('\n'));
}

const server = createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('event-display: POST CloudEvents here; they show in `wisp logs event-display`\n');
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    try {
      show(fromRequest(req.headers, Buffer.concat(chunks)));
      res.writeHead(202).end();
    } catch (err) {
      console.error(`event-display: cannot read the event: ${err.message}`);
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`bad event: ${err.message}\n`);
    }
  });
});

server.listen(Number(process.env.PORT ?? 8080), () => console.log(`event-display: listening on ${process.env.PORT}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
