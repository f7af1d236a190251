import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';

export interface RecordedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export type Responder = (req: RecordedRequest, index: number) => { status: number; headers?: Record<string, string>; body?: string };

/** An HTTP subscriber for tests: records every request and answers as `responder` says (default 202). */
export class Recorder {
  readonly requests: RecordedRequest[] = [];
  #server: Server | undefined;
  #responder: Responder;
  port = 0;

  constructor(responder: Responder = () => ({ status: 202 })) {
    this.#responder = responder;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const rec: RecordedRequest = { path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
        this.requests.push(rec);
        const answer = this.#responder(rec, this.requests.length - 1);
        res.writeHead(answer.status, answer.headers ?? {});
        res.end(answer.body ?? '');
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    const addr = this.#server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this;
  }

  /** Requests whose `ce-type` header (binary mode) is `type`. */
  ofType(type: string): RecordedRequest[] {
    return this.requests.filter((r) => r.headers['ce-type'] === type);
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
