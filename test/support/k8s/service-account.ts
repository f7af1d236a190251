/**
 * A kubeconfig that authenticates as a ServiceAccount, for tests that must run with that identity's rights and no
 * more (RBAC): the server and CA of the admin kubeconfig's current cluster, and a bound token from the TokenRequest
 * API (`kubectl create token <sa> -n <ns> --duration ...`). Works on the shared control plane (k8sKubeconfig()) and
 * on a cluster given with WISP_TEST_KUBECONFIG alike, as it asks kubectl rather than reading files.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kubeconfigYaml } from './control-plane-config.js';
import type { KubectlResult } from './kubectl.js';

export type KubectlFn = (args: readonly string[]) => Promise<KubectlResult>;

export interface ServiceAccountKubeconfigOptions {
  namespace: string;
  serviceAccount: string;
  /** Written here as `kubeconfig-<namespace>-<serviceAccount>`. */
  dir: string;
  /** Token lifetime; default 1 h. */
  durationSeconds?: number;
}

export interface ServiceAccountKubeconfig {
  token: string;
  kubeconfigPath: string;
  /** `system:serviceaccount:<namespace>:<name>` */
  user: string;
}

interface MinifiedConfig {
  clusters?: { cluster?: { server?: string; 'certificate-authority-data'?: string } }[];
}

function failed(what: string, r: KubectlResult): Error {
  return new Error(`${what} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
}

/** Mints a token for the ServiceAccount with the admin `kubectl` and writes a kubeconfig that uses only it. */
export async function serviceAccountKubeconfig(kubectl: KubectlFn, o: ServiceAccountKubeconfigOptions): Promise<ServiceAccountKubeconfig> {
  const view = await kubectl(['config', 'view', '--raw', '--minify', '--flatten', '-o', 'json']);
  if (view.code !== 0) throw failed('kubectl config view', view);
  const cluster = (JSON.parse(view.stdout) as MinifiedConfig).clusters?.[0]?.cluster;
  const server = cluster?.server;
  const caData = cluster?.['certificate-authority-data'];
  if (!server || !caData) throw new Error('the admin kubeconfig names no server or CA (certificate-authority-data) for its current cluster');

  const duration = o.durationSeconds ?? 3600;
  const created = await kubectl(['create', 'token', o.serviceAccount, '-n', o.namespace, `--duration=${duration}s`]);
  if (created.code !== 0) throw failed(`kubectl create token ${o.serviceAccount} -n ${o.namespace}`, created);
  const token = created.stdout.trim();

  const user = `system:serviceaccount:${o.namespace}:${o.serviceAccount}`;
  const kubeconfigPath = join(o.dir, `kubeconfig-${o.namespace}-${o.serviceAccount}`);
  const caPem = Buffer.from(caData, 'base64').toString('utf8');
  await writeFile(kubeconfigPath, kubeconfigYaml({ server, caPem, token, userName: user }), { mode: 0o600 });
  return { token, kubeconfigPath, user };
}
