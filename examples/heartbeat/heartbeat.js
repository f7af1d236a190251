// A dependency-free event producer for a ContainerSource, like Knative's heartbeats sample: every PERIOD_MS
// (default 1000) it POSTs a binary-mode CloudEvent to $K_SINK, with the extensions from $K_CE_OVERRIDES as
// ce-<name> headers and a counter in the data. Exits cleanly on SIGTERM (what Wisp sends when the source is
// deleted or the platform stops), after the beat on the wire, if any, has finished.
import { randomUUID } from 'node:crypto';

const sink = process.env.K_SINK;
if (!sink) {
  console.error('heartbeat: K_SINK is not set (run me as a ContainerSource, or set K_SINK=http://...)');
  process.exit(1);
}
const periodMs = Number(process.env.PERIOD_MS ?? '1000');
if (!Number.isFinite(periodMs) || periodMs <= 0) {
  console.error(`heartbeat: PERIOD_MS must be a positive number of milliseconds, got "${process.env.PERIOD_MS}"`);
  process.exit(1);
}

function overrideHeaders() {
  const raw = process.env.K_CE_OVERRIDES;
  if (!raw) return {};
  let extensions;
  try {
    extensions = JSON.parse(raw).extensions ?? {};
  } catch (err) {
    console.error(`heartbeat: ignoring K_CE_OVERRIDES, not JSON: ${err.message}`);
    return {};
  }
  const headers = {};
  for (const [name, value] of Object.entries(extensions)) headers[`ce-${name}`] = String(value);
  return headers;
}

const overrides = overrideHeaders();
const label = process.env.LABEL ?? '';
let count = 0;
let inFlight = Promise.resolve();

async function beat() {
  count += 1;
  const id = count;
  try {
    const res = await fetch(sink, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': randomUUID(),
        'ce-type': 'dev.knative.eventing.samples.heartbeat',
        'ce-source': 'https://knative.dev/eventing/cmd/heartbeats',
        'ce-time': new Date().toISOString(),
        ...overrides,
      },
      body: JSON.stringify({ id, label }),
      signal: AbortSignal.timeout(5000),
    });
    await res.arrayBuffer();
    if (res.ok) console.log(`heartbeat ${id}: ${res.status}`);
    else console.error(`heartbeat ${id}: the sink answered ${res.status}`);
  } catch (err) {
    console.error(`heartbeat ${id}: cannot reach ${sink}: ${err.cause?.message ?? err.message}`);
  }
}

const timer = setInterval(() => {
  inFlight = beat();
}, periodMs);
process.once('SIGTERM', () => {
  clearInterval(timer);
  void inFlight.then(() => {
    console.log(`heartbeat: stopped after ${count} beats`);
    process.exit(0);
  });
});
console.log(`heartbeat: sending to ${sink} every ${periodMs} ms`);
