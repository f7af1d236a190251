import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, type WispProcess } from '../support/wisp.js';
import { waitFor } from '../support/wait.js';

export const HELLO_DIR = join(ROOT, 'examples/quickstart');

/** Writes YAML to a temp file and returns its path. */
export async function yamlFile(content: string, name = 'resource.yaml'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wisp-yaml-'));
  const file = join(dir, name);
  await writeFile(file, content);
  return file;
}

/** A Service running the quickstart's hello.js, with optional template annotations and extra spec lines. */
export function helloService(opts: { name: string; target?: string; annotations?: Record<string, string>; cc?: number; traffic?: string; extra?: string }): string {
  const ann = Object.entries(opts.annotations ?? {})
    .map(([k, v]) => `        ${k}: "${v}"`)
    .join('\n');
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${opts.name}
  namespace: default
spec:
  template:
${ann ? `    metadata:\n      annotations:\n${ann}\n` : ''}    spec:
      containerConcurrency: ${opts.cc ?? 0}
      containers:
        - command: ["${process.execPath}", "hello.js"]
          workingDir: ${HELLO_DIR}
          env:
            - name: TARGET
              value: "${opts.target ?? 'World'}"
${opts.extra ?? ''}${opts.traffic ? `  traffic:\n${opts.traffic}\n` : ''}`;
}

export interface Obj {
  metadata: { name: string; labels?: Record<string, string>; generation?: number };
  spec?: Record<string, unknown>;
  status?: {
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    actualReplicas?: number;
    desiredReplicas?: number;
    latestReadyRevisionName?: string;
    latestCreatedRevisionName?: string;
    url?: string;
    traffic?: { revisionName?: string; percent?: number; tag?: string; url?: string }[];
  };
}

export async function getJson(wisp: WispProcess, path: string): Promise<Obj> {
  const res = await wisp.fetch(path, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Obj;
}

export const svcPath = (name: string): string => `/apis/serving.knative.dev/v1/namespaces/default/services/${name}`;
export const revPath = (name: string): string => `/apis/serving.knative.dev/v1/namespaces/default/revisions/${name}`;

export function condition(obj: Obj, type = 'Ready'): string | undefined {
  return obj.status?.conditions?.find((c) => c.type === type)?.status;
}

export function waitReady(wisp: WispProcess, name: string, timeoutMs = 20_000): Promise<Obj> {
  return waitFor(
    async () => {
      const svc = await getJson(wisp, svcPath(name));
      return condition(svc) === 'True' ? svc : undefined;
    },
    { timeoutMs, what: `service ${name} Ready` },
  );
}
