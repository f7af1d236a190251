/**
 * The Lease endpoints of the API server in memory, for unit tests that drive leader election on a ManualClock:
 * 404 on a missing Lease or namespace, AlreadyExists on a second create, 409 Conflict on a stale resourceVersion, and
 * `down` for an unreachable server. test/k8s/leader.test.ts runs the same elector on a real API server.
 */
import { KubeApiError } from '../../src/control/kube/client.js';
import type { LeaseApiClient } from '../../src/control/kube/leader.js';

export class LeaseEndpoints implements LeaseApiClient {
  leases = new Map<string, Record<string, unknown>>();
  rv = 0;
  down = false;
  namespaces = new Set(['wisp-system']);
  writes = 0;

  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    await Promise.resolve();
    if (this.down) throw new KubeApiError(method, path, 0, undefined, new Error('connect ECONNREFUSED'));
    const m = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/.exec(path);
    if (!m) throw new Error(`unexpected path ${path}`);
    const ns = m[1]!;
    const fail = (status: number, reason: string): never => {
      throw new KubeApiError(method, path, status, { kind: 'Status', reason, code: status, message: reason });
    };
    if (method === 'GET') {
      const l = this.leases.get(`${ns}/${m[2]}`);
      return (l ? structuredClone(l) : fail(404, 'NotFound')) as T;
    }
    const obj = structuredClone(body) as { metadata: { name: string; resourceVersion?: string } };
    const key = `${ns}/${obj.metadata.name}`;
    if (method === 'POST') {
      if (!this.namespaces.has(ns)) fail(404, 'NotFound');
      if (this.leases.has(key)) fail(409, 'AlreadyExists');
    } else {
      const cur = this.leases.get(key) as { metadata: { resourceVersion: string } } | undefined;
      if (!cur) fail(404, 'NotFound');
      if (obj.metadata.resourceVersion !== cur!.metadata.resourceVersion) fail(409, 'Conflict');
    }
    obj.metadata.resourceVersion = String(++this.rv);
    this.leases.set(key, obj as unknown as Record<string, unknown>);
    this.writes += 1;
    return structuredClone(obj) as T;
  }

  holder(key = 'wisp-system/wisp-controller'): string | undefined {
    return (this.leases.get(key)?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;
  }
}

