/** Real node:http subscribers with scripted answers, for the dispatcher tests. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudEvent, HTTP } from 'cloudevents';

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Never answer (to exercise timeouts). */
  hang?: boolean;
}

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  /** The request as a CloudEvent (binary mode, parsed by the SDK). */
  event: CloudEvent<unknown>;
}

export interface ScriptedServer {
  url: string;
  port: number;
  received: Received[];
  close(): Promise<void>;
}

/** Answers request i with `script[i]`, and the last entry for every request after that. */
export async function scriptedServer(script: Answer[]): Promise<ScriptedServer> {
  const received: Received[] = [];
  const srv: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const event = HTTP.toEvent({ headers: req.headers, body }) as CloudEvent;
      const answer = script[Math.min(received.length, script.length - 1)] ?? { status: 202 };
      received.push({ headers: req.headers, body, event });
      if (answer.hang === true) return;
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    received,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}
