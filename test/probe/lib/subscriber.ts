/**
 * The probes' subscriber: an HTTP server on 127.0.0.1 that answers each delivery as its policy says (2xx, an
 * error status, a reset connection, a slow answer, no answer) and records, per path and CloudEvent id, how many
 * deliveries it answered 2xx. It keeps full requests (headers + body bytes) for the ids a probe asks for.
 * Its header limits are far above any ingress's, so it never drops what the platform sends.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export type Action =
  | { kind: 'answer'; status: number; headers?: Record<string, string>; delayMs?: number }
  | { kind: 'reset'; afterMs?: number }
  /** Reads the request, never answers, destroys the connection after `ms`. */
  | { kind: 'hang'; ms: number };

export interface Delivery {
  path: string;
  id: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export class ProbeSubscriber {
  #server: Server | undefined;
  port = 0;
  /** Decides each answer; change it at any time (e.g. slow, then fast). */
  policy: (d: { path: string; id: string; attempt: number }) => Action = () => ({ kind: 'answer', status: 202 });
  /** Requests to keep in full (headers and body). */
  keep: (id: string) => boolean = () => false;
  /** Called with every request answered 2xx. */
  inspect: (d: Delivery) => void = () => undefined;
  /** path → id → deliveries answered 2xx. */
  readonly ok = new Map<string, Map<string, number>>();
  /** id → attempts seen (any answer). */
  readonly attempts = new Map<string, number>();
  /** Outcome of every request: `2xx`, `500`, `429`, `reset`, `hang`. */
  readonly outcomes = new Map<string, number>();
  readonly kept = new Map<string, Delivery>();
  /** Requests being handled right now. */
  inFlight = 0;
  /** Deliveries that came in structured mode (Content-Type application/cloudevents+json, no ce-id header). */
  structured = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const server = createServer({ maxHeaderSize: 8 * 1024 * 1024, requestTimeout: 0, headersTimeout: 0, keepAliveTimeout: 60_000 }, (req, res) => {
      const chunks: Buffer[] = [];
      this.inFlight++;
      let counted = true;
      const done = (): void => {
        if (counted) this.inFlight--;
        counted = false;
      };
      res.on('close', done);
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('error', () => undefined);
      req.on('end', () => {
        const path = req.url ?? '/';
        const idHeader = req.headers['ce-id'];
        let id = Array.isArray(idHeader) ? idHeader.join(',') : (idHeader ?? '');
        // Structured mode (the platform may deliver unlabelled bytes so): the id is in the body.
        if (idHeader === undefined && /^application\/cloudevents\+json/i.test(req.headers['content-type'] ?? '')) {
          this.structured++;
          try {
            const ev = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: unknown };
            if (typeof ev.id === 'string') id = ev.id;
          } catch {
            // not JSON: stays unidentified
          }
        }
        const attempt = (this.attempts.get(id) ?? 0) + 1;
        this.attempts.set(id, attempt);
        const action = this.policy({ path, id, attempt });
        const outcome = (o: string): void => void this.outcomes.set(o, (this.outcomes.get(o) ?? 0) + 1);
        if (action.kind === 'reset') {
          outcome('reset');
          setTimeout(() => req.socket.destroy(), action.afterMs ?? 0);
          return;
        }
        if (action.kind === 'hang') {
          outcome('hang');
          setTimeout(() => req.socket.destroy(), action.ms);
          return;
        }
        const answer = (): void => {
          if (res.destroyed || req.socket.destroyed) {
            outcome('gone');
            return;
          }
          const ok = action.status >= 200 && action.status < 300;
          outcome(ok ? '2xx' : String(action.status));
          if (ok) {
            let m = this.ok.get(path);
            if (!m) this.ok.set(path, (m = new Map()));
            m.set(id, (m.get(id) ?? 0) + 1);
            const d = { path, id, headers: req.headers, body: Buffer.concat(chunks) };
            if (this.keep(id)) this.kept.set(id, d);
            this.inspect(d);
          }
          res.writeHead(action.status, { 'content-length': '0', ...action.headers });
          res.end();
        };
        if (action.delayMs) setTimeout(answer, action.delayMs);
        else answer();
      });
    });
    server.maxHeadersCount = 0;
    server.on('clientError', (_err, socket) => socket.destroy());
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this;
  }

  /** Ids answered 2xx on `path` (all paths when omitted), with their counts. */
  delivered(path?: string): Map<string, number> {
    if (path !== undefined) return this.ok.get(path) ?? new Map();
    const all = new Map<string, number>();
    for (const m of this.ok.values()) for (const [id, n] of m) all.set(id, (all.get(id) ?? 0) + n);
    return all;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** Of `accepted` ids: how many never reached any of `delivered` (lost), and deliveries beyond the first (duplicates). */
export function lossAndDuplicates(accepted: Iterable<string>, ...delivered: Map<string, number>[]): { lost: string[]; duplicates: number } {
  const lost: string[] = [];
  let duplicates = 0;
  for (const id of accepted) {
    let n = 0;
    for (const m of delivered) n += m.get(id) ?? 0;
    if (n === 0) lost.push(id);
    else duplicates += n - 1;
  }
  return { lost, duplicates };
}
