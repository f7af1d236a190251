/**
 * A small, protocol-faithful stand-in for the Wisp control API (Kubernetes-shaped paths, Status errors,
 * `x-wisp-apply` and `Warning` headers, NDJSON logs), served by node:http on a random port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KObject } from '../../../src/api/types.js';
import type { LogLine } from '../../../src/runtime/types.js';

export interface StandIn {
  url: string;
  /** Objects by `<group>/<plural>/<namespace>/<name>` (group '' for core). */
  objects: Map<string, KObject>;
  /** Requests seen, `METHOD path`. */
  requests: string[];
  /** Log lines served for `<namespace>/<service>`. */
  logs: Map<string, LogLine[]>;
  /** Called on each GET of one object, may change it before it is served (e.g. to progress status). */
  onGet?: (key: string, obj: KObject) => KObject;
  /** Open follow streams: push more lines. */
  followers: Set<ServerResponse>;
  close(): Promise<void>;
}

export function key(group: string, plural: string, namespace: string, name: string): string {
  return `${group}/${plural}/${namespace}/${name}`;
}

const PATH = /^\/(?:apis\/([^/]+)\/[^/]+|api\/v1)(?:\/namespaces\/([^/]+))?\/([^/?]+)(?:\/([^/?]+))?(?:\/(log))?$/;

function status(res: ServerResponse, code: number, reason: string, message: string, causes?: { field: string; message: string }[]): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code, ...(causes ? { details: { causes } } : {}) }));
}

function json(res: ServerResponse, code: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(code, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** What the stand-in rejects: a Service without containers; warns about unknown top-level spec fields. */
function validate(obj: KObject): { causes: { field: string; message: string }[]; warnings: string[] } {
  const causes: { field: string; message: string }[] = [];
  const warnings: string[] = [];
  const spec = (obj.spec ?? {}) as Record<string, unknown>;
  if (obj.kind === 'Service') {
    const template = spec.template as { spec?: { containers?: unknown[]; timeoutSeconds?: number } } | undefined;
    if (!template?.spec?.containers || template.spec.containers.length === 0) causes.push({ field: 'spec.template.spec.containers', message: 'Required value' });
    if (typeof template?.spec?.timeoutSeconds === 'number' && template.spec.timeoutSeconds > 600)
      causes.push({ field: 'spec.template.spec.timeoutSeconds', message: 'expected 0 <= 9999 <= 600' });
    for (const k of Object.keys(spec)) if (k !== 'template' && k !== 'traffic') warnings.push(`unknown field "spec.${k}"`);
  }
  return { causes, warnings };
}

export async function startStandIn(): Promise<StandIn> {
  const objects = new Map<string, KObject>();
  const requests: string[] = [];
  const logs = new Map<string, LogLine[]>();
  const followers = new Set<ServerResponse>();
  const standIn: StandIn = { url: '', objects, requests, logs, followers, close: async () => undefined };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      requests.push(`${req.method} ${url.pathname}${url.search}`);
      const m = PATH.exec(url.pathname);
      if (!m) return status(res, 404, 'NotFound', `the server could not find the requested resource`);
      const [, group = '', namespace, plural = '', name, log] = m;
      const qualified = group ? `${plural}.${group}` : plural;
      if (log === 'log') {
        const lines = logs.get(`${namespace}/${name}`) ?? [];
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        for (const l of lines) res.write(JSON.stringify(l) + '\n');
        if (url.searchParams.get('follow') === 'true') {
          followers.add(res);
          res.on('close', () => followers.delete(res));
          return;
        }
        return res.end();
      }
      if (req.method === 'GET' && name === undefined) {
        const prefix = namespace !== undefined ? `${group}/${plural}/${namespace}/` : `${group}/${plural}/`;
        const items = [...objects.entries()].filter(([k]) => k.startsWith(prefix)).map(([, o]) => o);
        return json(res, 200, { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '1' }, items });
      }
      if (namespace === undefined || name === undefined) return status(res, 405, 'MethodNotAllowed', 'not allowed');
      const k = key(group, plural, namespace, name);
      if (req.method === 'GET') {
        const obj = objects.get(k);
        if (!obj) return status(res, 404, 'NotFound', `${qualified} "${name}" not found`);
        const served = standIn.onGet ? standIn.onGet(k, obj) : obj;
        objects.set(k, served);
        return json(res, 200, served);
      }
      if (req.method === 'DELETE') {
        if (!objects.delete(k)) return status(res, 404, 'NotFound', `${qualified} "${name}" not found`);
        return json(res, 200, { kind: 'Status', status: 'Success' });
      }
      if (req.method === 'PUT') {
        const obj = JSON.parse(await body(req)) as KObject;
        const { causes, warnings } = validate(obj);
        if (causes.length > 0) {
          const message = `${obj.kind} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`;
          return status(res, 422, 'Invalid', message, causes);
        }
        const prev = objects.get(k);
        const result = !prev ? 'created' : JSON.stringify(prev.spec) === JSON.stringify(obj.spec) ? 'unchanged' : 'configured';
        const generation = (prev?.metadata.generation ?? 0) + (result === 'unchanged' ? 0 : 1);
        const stored: KObject = {
          ...obj,
          metadata: { ...obj.metadata, generation, creationTimestamp: prev?.metadata.creationTimestamp ?? new Date().toISOString() },
          status: prev?.status ?? { observedGeneration: 0, conditions: [{ type: 'Ready', status: 'Unknown' }] },
        };
        objects.set(k, stored);
        const headers: Record<string, string | string[]> = { 'x-wisp-apply': result };
        if (warnings.length > 0) headers.warning = warnings.map((w) => `299 - "${w.replace(/["\\]/g, '\\$&')}"`);
        return json(res, prev ? 200 : 201, stored, headers);
      }
      return status(res, 405, 'MethodNotAllowed', `${req.method} is not allowed`);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  standIn.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  standIn.close = () =>
    new Promise<void>((resolve) => {
      for (const f of followers) f.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return standIn;
}
