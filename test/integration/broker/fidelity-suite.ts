/**
 * "Events exactly as sent", end to end on one broker class: a producer POSTs to the ingress on a real socket,
 * the event goes through the backend (Memory, real Redis, real Kafka) and the dispatcher to a real HTTP
 * subscriber that records the raw bytes it gets, and reads them back with the CloudEvents SDK's receiver.
 * Shared by fidelity.test.ts (Memory, Redis) and ../kafka/kafka-fidelity.test.ts (Kafka).
 */
import { randomUUID } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { CloudEvent, HTTP } from 'cloudevents';
import { afterEach, describe, expect, it } from 'vitest';
import { startPipeline } from '../../contract/pipeline.js';
import { MAX_ATTRIBUTES } from '../../../broker/limits.js';
import type { EventBackend } from '../../../broker/types.js';
import { freePort, waitFor } from '../../support/wait.js';

export interface FidelityFixture {
  backend: EventBackend;
  cleanup(): Promise<void>;
}

interface Received {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

type Answer = { status: number; headers?: Record<string, string>; body?: string | Buffer };

/** An HTTP subscriber that keeps the exact bytes of every request. */
class RawSubscriber {
  readonly received: Received[] = [];
  #server: Server | undefined;
  port = 0;
  constructor(readonly answer: (r: Received) => Answer = () => ({ status: 202 })) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r = { headers: req.headers, body: Buffer.concat(chunks) };
        this.received.push(r);
        const a = this.answer(r);
        res.writeHead(a.status, a.headers ?? {});
        res.end(a.body ?? '');
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    const addr = this.#server.address();
    this.port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    return this;
  }

  /** The SDK's reading of request `i` (as a Node subscriber using the SDK would read it). */
  event(i = 0): CloudEvent<unknown> {
    const r = this.received[i];
    if (r === undefined) throw new Error(`no request ${i}`);
    const ct = String(r.headers['content-type'] ?? '');
    const body = /json|^text\//.test(ct) ? r.body.toString('utf8') : r.body;
    return HTTP.toEvent({ headers: r.headers, body }) as CloudEvent<unknown>;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

function post(port: number, path: string, headers: Record<string, string>, body: string | Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const WAIT = { timeoutMs: 20_000 };

export function describeFidelity(name: string, factory: () => Promise<FidelityFixture>): void {
  describe(`${name}: events arrive exactly as sent`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    async function pipeline() {
      const fixture = await factory();
      cleanups.push(() => fixture.cleanup());
      const { broker, ingress, addTrigger } = await startPipeline(fixture.backend, cleanups, 'fid');
      const port = await freePort();
      await ingress.listen({ port, host: '127.0.0.1' });
      const trigger = async (type: string, answer?: (r: Received) => Answer, deadLetter?: RawSubscriber): Promise<RawSubscriber> => {
        const sub = await new RawSubscriber(answer).start();
        cleanups.push(() => sub.stop());
        await addTrigger({ subscriberUri: sub.url, type, delivery: { retry: 0 }, ...(deadLetter !== undefined && { deadLetterUri: deadLetter.url }) });
        return sub;
      };
      const send = (headers: Record<string, string>, body: string | Buffer = '') => post(port, `/${broker.namespace}/${broker.name}`, headers, body);
      const sendBinary = (type: string, extra: Record<string, string>, body: string | Buffer = '') =>
        send({ 'ce-specversion': '1.0', 'ce-id': randomUUID(), 'ce-source': '/fidelity', 'ce-type': type, ...extra }, body);
      const sendStructured = (text: string) => send({ 'content-type': 'application/cloudevents+json' }, text);
      return { trigger, send, sendBinary, sendStructured };
    }

    it('binary mode: the body bytes and the header values arrive as sent (percent-encoding decoded once, encoded once)', async () => {
      const p = await pipeline();
      const sub = await p.trigger('fid.binary');
      const json = '{ "n": 12345678901234567890123, "f": 1.0, "k": 1, "k": 2, "e": "caf\\u00e9" }';
      const bytes = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0xff, 0x00, 0x80]);
      // ce-raw: node:http's client writes a header string as UTF-8 bytes (as a producer using the SDK's HTTP.binary
      // does, without percent-encoding); the ingress reads those bytes as the UTF-8 they are.
      expect((await p.sendBinary('fid.binary', { 'ce-subject': 'caf%C3%A9', 'ce-note': '100%25', 'ce-raw': 'café', 'content-type': 'application/json' }, json)).status).toBe(202);
      expect((await p.sendBinary('fid.binary', { 'content-type': 'application/octet-stream' }, bytes)).status).toBe(202);
      await waitFor(() => sub.received.length === 2, WAIT);
      const byType = (ct: string) => sub.received.find((r) => r.headers['content-type'] === ct);
      const j = byType('application/json');
      expect(j?.body.toString('utf8')).toBe(json);
      expect(j?.headers['ce-subject']).toBe('caf%C3%A9');
      expect(j?.headers['ce-note']).toBe('100%25');
      expect(j?.headers['ce-raw']).toBe('caf%C3%A9');
      expect([...(byType('application/octet-stream')?.body ?? [])]).toEqual([...bytes]);
    });

    it('structured mode: the raw JSON text of data arrives as the binary-mode body', async () => {
      const p = await pipeline();
      const sub = await p.trigger('fid.structured');
      const data = '{ "big": 12345678901234567890123, "f": 1.0, "z": 1, "a": [1.50, -0.0], "z": 2, "e": "\\u00e9" }';
      const text = `{"specversion":"1.0","id":"s-1","source":"/fidelity","type":"fid.structured","datacontenttype":"application/json","data":${data}}`;
      expect((await p.sendStructured(text)).status).toBe(202);
      await waitFor(() => sub.received.length === 1, WAIT);
      expect(sub.received[0]?.headers['content-type']).toBe('application/json');
      expect(sub.received[0]?.body.toString('utf8')).toBe(data);
    });

    it('data_base64 without datacontenttype arrives in structured mode, and the SDK receiver reads back the same event', async () => {
      const p = await pipeline();
      const sub = await p.trigger('fid.base64');
      const bytes = Buffer.from([0, 1, 0xe9, 0xff, 0x80]);
      expect((await p.sendStructured(JSON.stringify({ specversion: '1.0', id: 'b-1', source: '/fidelity', type: 'fid.base64', data_base64: bytes.toString('base64'), ext: 'v' }))).status).toBe(202);
      await waitFor(() => sub.received.length === 1, WAIT);
      expect(sub.received[0]?.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
      const e = sub.event();
      expect(e).toMatchObject({ id: 'b-1', source: '/fidelity', type: 'fid.base64', ext: 'v' });
      expect(e.datacontenttype).toBeUndefined();
      expect(e.data_base64).toBe(bytes.toString('base64'));
    });

    it('a 20 KB extension (over the 8 KiB binary header budget) arrives in structured mode, whole', async () => {
      const p = await pipeline();
      const sub = await p.trigger('fid.big');
      const big = 'é'.repeat(10_000);
      const data = '{"n":12345678901234567890123}';
      const text = `{"specversion":"1.0","id":"big-1","source":"/fidelity","type":"fid.big","big":${JSON.stringify(big)},"data":${data}}`;
      expect((await p.sendStructured(text)).status).toBe(202);
      await waitFor(() => sub.received.length === 1, WAIT);
      const r = sub.received[0];
      expect(r?.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
      expect(r?.body.toString('utf8')).toContain(`"data":${data}}`);
      expect(sub.event()).toMatchObject({ id: 'big-1', big });
    });

    it('too many attributes are refused at the ingress (413, nothing delivered)', async () => {
      const p = await pipeline();
      const sub = await p.trigger('fid.many');
      const many: Record<string, string> = {};
      for (let i = 0; i < 20_000; i++) many[`x${i}`] = 'v';
      const res = await p.sendStructured(JSON.stringify({ specversion: '1.0', id: 'm-1', source: '/fidelity', type: 'fid.many', ...many }));
      expect(res.status).toBe(413);
      expect(res.body).toContain(`at most ${MAX_ATTRIBUTES}`);
      expect((await p.sendBinary('fid.many', {})).status).toBe(202);
      await waitFor(() => sub.received.length === 1, WAIT);
    });

    it('a reply keeps its bytes and its decoded header values; a reply over the limits is dead-lettered', async () => {
      const p = await pipeline();
      const replyBody = '{"answer": 12345678901234567890123, "f": 1.0}';
      await p.trigger('fid.ask', () => ({
        status: 200,
        headers: { 'ce-specversion': '1.0', 'ce-id': 'answer-1', 'ce-source': '/replier', 'ce-type': 'fid.answer', 'ce-subject': 'caf%C3%A9', 'content-type': 'application/json' },
        body: replyBody,
      }));
      const answers = await p.trigger('fid.answer');
      expect((await p.sendBinary('fid.ask', {})).status).toBe(202);
      await waitFor(() => answers.received.length === 1, WAIT);
      expect(answers.received[0]?.body.toString('utf8')).toBe(replyBody);
      expect(answers.received[0]?.headers['ce-subject']).toBe('caf%C3%A9');

      const many: Record<string, string> = {};
      for (let i = 0; i < MAX_ATTRIBUTES; i++) many[`x${i}`] = 'v';
      const dls = await new RawSubscriber().start();
      cleanups.push(() => dls.stop());
      await p.trigger(
        'fid.ask-big',
        () => ({ status: 200, headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify({ specversion: '1.0', id: 'r', source: '/r', type: 'fid.answer', ...many }) }),
        dls,
      );
      expect((await p.sendBinary('fid.ask-big', {}, '')).status).toBe(202);
      await waitFor(() => dls.received.length === 1, WAIT);
      expect(dls.received[0]?.headers['ce-type']).toBe('fid.ask-big');
      expect(dls.received[0]?.headers['ce-knativeerrorcode']).toBe('200');
      expect(answers.received).toHaveLength(1);
    });
  });
}
