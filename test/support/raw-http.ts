import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

/** A raw TCP connection to an HTTP server: what it sent back, and when it closed. */
export interface RawConnection {
  readonly socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves with everything received once the server closed the connection (or reset it). */
  readonly closed: Promise<string>;
}

/**
 * Connects to 127.0.0.1:`port` from `localAddress` (any 127.0.0.0/8 address plays another client) and writes
 * `send` (raw HTTP bytes, possibly an unfinished request head). Resolves once connected; with `tls`, once the
 * TLS handshake is done (any certificate is accepted: tests use self-signed ones).
 */
export function rawConnect(port: number, opts: { localAddress?: string; send?: string; tls?: boolean } = {}): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    let got = '';
    const where = { port, host: '127.0.0.1', ...(opts.localAddress !== undefined && { localAddress: opts.localAddress }) };
    const socket: Socket = opts.tls === true ? connectTls({ ...where, rejectUnauthorized: false }) : connect(where);
    const closed = new Promise<string>((done) => socket.once('close', () => done(got)));
    socket.on('data', (c: Buffer) => (got += c.toString('latin1')));
    socket.once(opts.tls === true ? 'secureConnect' : 'connect', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined); // a reset after the answer: `closed` still resolves with what came
      if (opts.send !== undefined) socket.write(opts.send);
      resolve({ socket, received: () => got, closed });
    });
    socket.once('error', reject);
  });
}

/** Sends one complete request on its own connection and resolves with the whole answer once the server closes it. */
export async function rawExchange(port: number, request: string, localAddress?: string, opts: { tls?: boolean } = {}): Promise<string> {
  const c = await rawConnect(port, { send: request, ...(localAddress !== undefined && { localAddress }), ...opts });
  return c.closed;
}

/** The status code of a raw HTTP/1.1 answer (0 when there is none). */
export function statusOf(answer: string): number {
  const m = /^HTTP\/1\.[01] (\d{3}) /.exec(answer);
  return m ? Number(m[1]) : 0;
}

/** The body of a raw answer (after the blank line). */
export function bodyOf(answer: string): string {
  const i = answer.indexOf('\r\n\r\n');
  return i === -1 ? '' : answer.slice(i + 4);
}

/** A header of a raw answer, by lower-case name. */
export function headerOf(answer: string, name: string): string | undefined {
  const head = answer.split('\r\n\r\n', 1)[0] ?? '';
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).toLowerCase() === name) return line.slice(colon + 1).trim();
  }
  return undefined;
}
