/**
 * A real Kubernetes control plane for Wisp's tests and `npm run k8s`: etcd, kube-apiserver and
 * kube-controller-manager built from the Go module proxy (binaries.ts), on free loopback ports, with a generated
 * CA, a static admin token (group system:masters), RBAC + Node authorization and ServiceAccount token signing.
 * Test infrastructure, not part of Wisp. No kubelet: test/support/k8s/kubelet.ts plays that part.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Env } from '../kafka/tools.js';
import { freePort } from '../wait.js';
import { ensureK8sBinaries, type K8sBinaries } from './binaries.js';
import {
  ADMIN_USER,
  advertiseAddressFor,
  apiServerArgs,
  CONTROLLER_MANAGER_USER,
  controllerManagerArgs,
  etcdArgs,
  kubeconfigYaml,
  servingSans,
  SERVICE_ACCOUNT_ISSUER,
  tokenCsv,
  type TokenUser,
} from './control-plane-config.js';
import { K8sSupportError } from './errors.js';
import { runKubectl, type KubectlOptions, type KubectlResult } from './kubectl.js';
import { makePki } from './pki.js';
import { ControlPlaneProcess, OWNER_FILE, reapOrphanedControlPlanes } from './process.js';

export type { TokenUser } from './control-plane-config.js';
export type { KubectlOptions, KubectlResult } from './kubectl.js';

export interface StartControlPlaneOptions {
  /** Directory for data, certificates, kubeconfigs and logs. Given = yours: created if missing, never removed. Default: a new temp dir, removed by stop(). */
  dir?: string;
  /** Run kube-controller-manager (Deployments, ReplicaSets, EndpointSlices, garbage collection, ...). Default true. */
  controllerManager?: boolean;
  /** Where the three processes' logs go (`etcd.log`, `kube-apiserver.log`, `kube-controller-manager.log`). Default `<dir>/logs`. */
  logDir?: string;
  /** Environment for the processes and for building the binaries (PATH, WISP_CACHE_DIR, WISP_K8S_BIN_DIR); default process.env. */
  env?: Env;
  /** Use these binaries instead of ensureK8sBinaries(). */
  binaries?: K8sBinaries;
  /** Progress lines (build, start, stop). */
  log?: (m: string) => void;
  /** How long each component may take to become ready (default 90 s). */
  readyTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL, per process (default 10 s). */
  stopGraceMs?: number;
  /** Keep the temp dir after stop() for debugging (default: env WISP_K8S_KEEP_DIR=1). */
  keepDir?: boolean;
  /** More static token identities (kube-apiserver reads its token file at start only). */
  users?: readonly TokenUser[];
  /**
   * The API server's --bind-address (default 127.0.0.1). `0.0.0.0` also serves the host's other addresses (which the
   * test kubelet's Pods reach) and advertises the first of them in the `kubernetes` Service's endpoints.
   */
  bindAddress?: string;
  /** Extra kube-apiserver flags, e.g. `--feature-gates=...`. */
  apiServerArgs?: readonly string[];
  /** Extra kube-controller-manager flags, e.g. `--node-monitor-grace-period=20s`. */
  controllerManagerArgs?: readonly string[];
}

export interface ControlPlane {
  /** The working directory (data, pki/, logs/ unless logDir was given, kubeconfigs). */
  readonly dir: string;
  readonly logDir: string;
  /** Admin kubeconfig: cluster `wisp-test` (server + CA), user `wisp-admin` (token), context `wisp-test` (current). */
  readonly kubeconfigPath: string;
  /** `https://127.0.0.1:<port>` */
  readonly server: string;
  /** The admin bearer token (user `wisp-admin`, group `system:masters`). */
  readonly token: string;
  /** The CA that signed the serving certificate: a file, its PEM text, and base64 of the PEM (kubeconfig's certificate-authority-data, client-node's `caData`). */
  readonly caFile: string;
  readonly caPem: string;
  readonly caData: string;
  /** etcd's client URL, `http://127.0.0.1:<port>`. */
  readonly etcdUrl: string;
  readonly serviceAccountIssuer: string;
  readonly binaries: K8sBinaries;
  /** Runs the built kubectl with `--kubeconfig <admin kubeconfig>` (or opts.kubeconfig) and the args. Never throws for a non-zero exit. */
  kubectl(args: readonly string[], opts?: KubectlOptions): Promise<KubectlResult>;
  /** Writes a kubeconfig for this cluster with another bearer token; returns its path. */
  kubeconfigFor(token: string, opts?: { userName?: string; namespace?: string; path?: string }): Promise<string>;
  /** A token for a ServiceAccount (TokenRequest via `kubectl create token`) and a kubeconfig using it. */
  serviceAccountKubeconfig(namespace: string, serviceAccount: string, opts?: { durationSeconds?: number }): Promise<{ token: string; kubeconfigPath: string }>;
  /** SIGKILL of kube-apiserver (etcd and the controller-manager keep running). */
  killApiServer(): Promise<void>;
  /** Starts kube-apiserver again on the same port, certificates and etcd; resolves once /readyz answers ok. */
  startApiServer(): Promise<void>;
  /** killApiServer() then startApiServer(): a crash of the API server and its restart. */
  restartApiServer(): Promise<void>;
  /** The running processes' pids by name (`etcd`, `kube-apiserver`, `kube-controller-manager`); a stopped one is absent. */
  pids(): Record<string, number>;
  /** Stops everything (SIGTERM, then SIGKILL after the grace) and removes the temp dir unless kept. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_READY_TIMEOUT_MS = 90_000;
/** Temp dirs of control planes: `<tmpdir>/wisp-k8s-XXXXXX`, each with an OWNER_FILE (see reapOrphanedControlPlanes). */
const TEMP_PREFIX = 'wisp-k8s-';
const DEFAULT_STOP_GRACE_MS = 10_000;
const PROBE_TIMEOUT_MS = 2_000;
const POLL_MS = 100;

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

const newToken = (): string => randomBytes(24).toString('hex');
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export async function startControlPlane(opts: StartControlPlaneOptions = {}): Promise<ControlPlane> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => {});
  const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const stopGraceMs = opts.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
  const keepDir = opts.keepDir ?? env['WISP_K8S_KEEP_DIR'] === '1';
  const bindAddress = opts.bindAddress ?? '127.0.0.1';
  const withControllerManager = opts.controllerManager ?? true;

  const binaries = opts.binaries ?? (await ensureK8sBinaries({ log, env }));
  const ownsDir = opts.dir === undefined;
  if (ownsDir) await reapOrphanedControlPlanes(tmpdir(), TEMP_PREFIX, log);
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), TEMP_PREFIX)));
  const removeDir = ownsDir && !keepDir;
  if (ownsDir) await writeFile(join(dir, OWNER_FILE), `${process.pid}\n${removeDir ? '' : 'keep\n'}`);
  const logDir = opts.logDir ?? join(dir, 'logs');
  const processes: ControlPlaneProcess[] = [];
  const onExit = (): void => {
    for (const p of processes) p.killNow();
    if (removeDir) rmSync(dir, { recursive: true, force: true });
    else if (ownsDir) rmSync(join(dir, OWNER_FILE), { force: true }); // kept on purpose: not an orphan to reap
  };
  process.on('exit', onExit);

  const started = Date.now();
  try {
    await mkdir(dir, { recursive: true });
    await mkdir(logDir, { recursive: true });
    const [etcdClientPort, etcdPeerPort, securePort] = (await distinctFreePorts(3)) as [number, number, number];
    const advertiseAddress = advertiseAddressFor(bindAddress, networkInterfaces());
    const pki = await makePki({ dir: join(dir, 'pki'), servingSans: servingSans(bindAddress, advertiseAddress), env });
    const host = bindAddress === '0.0.0.0' ? '127.0.0.1' : bindAddress;
    const server = `https://${host}:${securePort}`;
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const caData = Buffer.from(pki.caPem).toString('base64');

    const admin: TokenUser = { token: newToken(), user: ADMIN_USER, uid: ADMIN_USER, groups: ['system:masters'] };
    const kcm: TokenUser = { token: newToken(), user: CONTROLLER_MANAGER_USER, uid: CONTROLLER_MANAGER_USER };
    const tokenFile = join(pki.dir, 'tokens.csv');
    await writeFile(tokenFile, tokenCsv([admin, kcm, ...(opts.users ?? [])]), { mode: 0o600 });
    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeconfigYaml({ server, caPem: pki.caPem, token: admin.token, userName: ADMIN_USER }), { mode: 0o600 });
    const kcmKubeconfig = join(dir, 'controller-manager.kubeconfig');
    await writeFile(kcmKubeconfig, kubeconfigYaml({ server, caPem: pki.caPem, token: kcm.token, userName: CONTROLLER_MANAGER_USER }), { mode: 0o600 });

    const spec = (name: string, command: string, args: string[]): ControlPlaneProcess => {
      const p = new ControlPlaneProcess({ name, command, args, logFile: join(logDir, `${name}.log`), env, cwd: dir });
      processes.push(p);
      return p;
    };
    const etcd = spec('etcd', binaries.etcd, etcdArgs({ dataDir: join(dir, 'etcd'), clientPort: etcdClientPort, peerPort: etcdPeerPort, clusterToken: `wisp-${randomBytes(6).toString('hex')}` }));
    const apiServer = spec(
      'kube-apiserver',
      binaries.kubeApiserver,
      apiServerArgs({
        etcdUrl,
        bindAddress,
        advertiseAddress,
        securePort,
        certDir: join(dir, 'apiserver-certs'),
        servingCert: pki.servingCert,
        servingKey: pki.servingKey,
        clientCaFile: pki.caCert,
        tokenAuthFile: tokenFile,
        serviceAccountKey: pki.serviceAccountKey,
        serviceAccountPub: pki.serviceAccountPub,
        ...(opts.apiServerArgs ? { extra: opts.apiServerArgs } : {}),
      }),
    );
    const controllerManager = withControllerManager
      ? spec(
          'kube-controller-manager',
          binaries.kubeControllerManager,
          controllerManagerArgs({
            kubeconfig: kcmKubeconfig,
            serviceAccountKey: pki.serviceAccountKey,
            rootCaFile: pki.caCert,
            caCert: pki.caCert,
            caKey: pki.caKey,
            ...(opts.controllerManagerArgs ? { extra: opts.controllerManagerArgs } : {}),
          }),
        )
      : undefined;

    const api = (path: string): Promise<HttpResult> => httpsGet(`${server}${path}`, { ca: pki.caPem, token: admin.token, timeoutMs: PROBE_TIMEOUT_MS });
    const apiReady = (): Promise<void> =>
      waitReady(apiServer, readyTimeoutMs, `kube-apiserver ${server}/readyz`, async () => {
        const r = await api('/readyz');
        return r.status === 200 ? true : `HTTP ${r.status}: ${r.body.slice(0, 2000)}`;
      });

    log(`k8s: starting etcd ${etcdUrl}, kube-apiserver ${server}${controllerManager ? ', kube-controller-manager' : ''} (dir ${dir})`);
    const t0 = Date.now();
    etcd.start();
    await waitReady(etcd, readyTimeoutMs, `etcd ${etcdUrl}/health`, async () => {
      const r = await httpGet(`${etcdUrl}/health`, PROBE_TIMEOUT_MS);
      return r.status === 200 && /"health":\s*"true"/.test(r.body) ? true : `HTTP ${r.status}: ${r.body}`;
    });
    const t1 = Date.now();
    log(`k8s: etcd ready in ${seconds(t1 - t0)}; starting kube-apiserver`);
    apiServer.start();
    await apiReady();
    const t2 = Date.now();
    if (controllerManager) {
      log(`k8s: kube-apiserver ready in ${seconds(t2 - t1)}; starting kube-controller-manager`);
      controllerManager.start();
      // The serviceaccount controller creates `default` in every namespace: Pods can be created from then on.
      await waitReady(controllerManager, readyTimeoutMs, 'kube-controller-manager (ServiceAccount default/default)', async () => {
        const r = await api('/api/v1/namespaces/default/serviceaccounts/default');
        return r.status === 200 ? true : `HTTP ${r.status}`;
      });
    }
    const t3 = Date.now();
    log(
      `k8s: control plane ready in ${seconds(t3 - started)} (certificates ${seconds(t0 - started)}, etcd ${seconds(t1 - t0)}, kube-apiserver ${seconds(t2 - t1)}` +
        `${controllerManager ? `, kube-controller-manager ${seconds(t3 - t2)}` : ''})`,
    );

    let stopping: Promise<void> | undefined;
    let extraConfigs = 0;
    const cp: ControlPlane = {
      dir,
      logDir,
      kubeconfigPath,
      server,
      token: admin.token,
      caFile: pki.caCert,
      caPem: pki.caPem,
      caData,
      etcdUrl,
      serviceAccountIssuer: SERVICE_ACCOUNT_ISSUER,
      binaries,
      kubectl: (args, o = {}) =>
        runKubectl(binaries.kubectl, o.kubeconfig ?? kubeconfigPath, args, { ...o, env: { ...env, KUBECACHEDIR: join(dir, 'kube-cache') }, cwd: dir }),
      kubeconfigFor: async (token, o = {}) => {
        const path = o.path ?? join(dir, `kubeconfig-${++extraConfigs}`);
        const userName = o.userName ?? `token-user-${extraConfigs}`;
        await writeFile(path, kubeconfigYaml({ server, caPem: pki.caPem, token, userName, ...(o.namespace === undefined ? {} : { namespace: o.namespace }) }), { mode: 0o600 });
        return path;
      },
      serviceAccountKubeconfig: async (namespace, serviceAccount, o = {}) => {
        const r = await cp.kubectl(['create', 'token', serviceAccount, '-n', namespace, `--duration=${o.durationSeconds ?? 3600}s`]);
        if (r.code !== 0) throw new Error(`kubectl create token ${serviceAccount} -n ${namespace} failed (exit ${r.code}): ${r.stderr.trim()}`);
        const token = r.stdout.trim();
        const kubeconfig = await cp.kubeconfigFor(token, { userName: `system:serviceaccount:${namespace}:${serviceAccount}`, namespace });
        return { token, kubeconfigPath: kubeconfig };
      },
      killApiServer: async () => {
        if (stopping) throw new K8sSupportError('WISP_ERR_K8S_STOPPED', 'the control plane is stopped');
        const pid = apiServer.pid;
        await apiServer.kill();
        log(`k8s: kube-apiserver (pid ${String(pid)}) killed with SIGKILL`);
      },
      startApiServer: async () => {
        if (stopping) throw new K8sSupportError('WISP_ERR_K8S_STOPPED', 'the control plane is stopped');
        const s = Date.now();
        apiServer.start();
        await apiReady();
        log(`k8s: kube-apiserver (pid ${String(apiServer.pid)}) ready again on ${server} in ${seconds(Date.now() - s)}`);
      },
      restartApiServer: async () => {
        await cp.killApiServer();
        await cp.startApiServer();
      },
      pids: () => {
        const out: Record<string, number> = {};
        for (const p of processes) if (p.pid !== undefined) out[p.spec.name] = p.pid;
        return out;
      },
      stop: () => {
        stopping ??= (async () => {
          const s = Date.now();
          for (const p of [...processes].reverse()) await p.stop(stopGraceMs);
          process.removeListener('exit', onExit);
          if (removeDir) await rm(dir, { recursive: true, force: true, maxRetries: 3 });
          else if (ownsDir) await rm(join(dir, OWNER_FILE), { force: true });
          log(`k8s: control plane stopped in ${seconds(Date.now() - s)}${removeDir ? '' : ` (kept ${dir})`}`);
        })();
        return stopping;
      },
    };
    return cp;
  } catch (err) {
    for (const p of [...processes].reverse()) await p.stop(stopGraceMs).catch(() => {});
    process.removeListener('exit', onExit);
    if (removeDir) await rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
    else if (ownsDir) await rm(join(dir, OWNER_FILE), { force: true }).catch(() => {});
    throw err;
  }
}

/**
 * Polls `check` (true = ready, a string = why not yet) until ready; fails at once when the process exits and after
 * `timeoutMs` otherwise, with the tail of the process's log.
 */
async function waitReady(proc: ControlPlaneProcess, timeoutMs: number, what: string, check: () => Promise<true | string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    if (!proc.running) {
      const info = await proc.exited();
      throw new K8sSupportError(
        'WISP_ERR_K8S_EXITED',
        `${proc.spec.name} exited during startup (code ${String(info?.code)}, signal ${String(info?.signal)}); log ${proc.spec.logFile}:\n${await proc.logTail()}`,
      );
    }
    try {
      const r = await check();
      if (r === true) return;
      last = r;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      throw new K8sSupportError(
        'WISP_ERR_K8S_START_TIMEOUT',
        `${what} not ready within ${timeoutMs} ms (last: ${last}); log ${proc.spec.logFile}:\n${await proc.logTail()}`,
      );
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

interface HttpResult {
  status: number;
  body: string;
}

function collect(req: ReturnType<typeof httpRequest>, timeoutMs: number, url: string): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.once('error', reject);
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.once('error', reject);
    });
    req.end();
  });
}

function httpGet(url: string, timeoutMs: number): Promise<HttpResult> {
  return collect(httpRequest(url, { method: 'GET', agent: false }), timeoutMs, url);
}

function httpsGet(url: string, o: { ca: string; token: string; timeoutMs: number }): Promise<HttpResult> {
  return collect(httpsRequest(url, { method: 'GET', agent: false, ca: o.ca, headers: { authorization: `Bearer ${o.token}` } }), o.timeoutMs, url);
}
