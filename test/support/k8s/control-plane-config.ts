/**
 * Pure pieces of the control plane: command lines of etcd, kube-apiserver and kube-controller-manager, the
 * kubeconfig and the static token file. No I/O here (control-plane.ts starts the processes).
 */
import { stringify } from 'yaml';

export const SERVICE_CLUSTER_IP_RANGE = '10.96.0.0/16';
/** The first address of the service range: the `kubernetes` Service's ClusterIP. */
export const KUBERNETES_SERVICE_IP = '10.96.0.1';
export const CLUSTER_CIDR = '10.244.0.0/16';
export const CLUSTER_NAME = 'wisp-test';
export const CONTEXT_NAME = 'wisp-test';
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const ADMIN_USER = 'wisp-admin';
export const CONTROLLER_MANAGER_USER = 'system:kube-controller-manager';

/** The serving certificate's names: how clients on this machine and in-cluster clients address the API server. */
export function servingSans(bindAddress: string, advertiseAddress: string = bindAddress): string[] {
  const names = ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'];
  const ips = [...new Set(['127.0.0.1', bindAddress, advertiseAddress, KUBERNETES_SERVICE_IP])].filter((ip) => ip !== '0.0.0.0');
  return [...ips.map((ip) => `IP:${ip}`), ...names.map((n) => `DNS:${n}`)];
}

export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}

/**
 * The address kube-apiserver advertises: the bind address, or for 0.0.0.0 the first non-internal IPv4 address of
 * this host (`interfaces` as from os.networkInterfaces()), else 127.0.0.1.
 */
export function advertiseAddressFor(bindAddress: string, interfaces: Readonly<Record<string, ReadonlyArray<{ family: string | number; internal: boolean; address: string }> | undefined>>): string {
  if (bindAddress !== '0.0.0.0') return bindAddress;
  for (const addrs of Object.values(interfaces)) {
    const a = addrs?.find((x) => (x.family === 'IPv4' || x.family === 4) && !x.internal);
    if (a) return a.address;
  }
  return '127.0.0.1';
}

/** One line of kube-apiserver's --token-auth-file. */
export interface TokenUser {
  token: string;
  user: string;
  uid?: string;
  groups?: readonly string[];
}

/** kube-apiserver's static token CSV: `token,user,uid,"group1,group2"`. */
export function tokenCsv(users: readonly TokenUser[]): string {
  for (const u of users) {
    if (!/^[A-Za-z0-9._~-]+$/.test(u.token)) throw new Error(`token for ${u.user}: only [A-Za-z0-9._~-] may appear in a static token`);
    for (const field of [u.user, u.uid ?? '', ...(u.groups ?? [])]) {
      if (/[",\n]/.test(field)) throw new Error(`token user ${u.user}: '${field}' must not contain a comma, a quote or a newline`);
    }
  }
  return users.map((u) => [u.token, u.user, u.uid ?? u.user, `"${(u.groups ?? []).join(',')}"`].join(',')).join('\n') + '\n';
}

export interface EtcdArgsOptions {
  dataDir: string;
  clientPort: number;
  peerPort: number;
  clusterToken: string;
}

export function etcdArgs(o: EtcdArgsOptions): string[] {
  const client = `http://127.0.0.1:${o.clientPort}`;
  const peer = `http://127.0.0.1:${o.peerPort}`;
  return [
    '--name=wisp',
    `--data-dir=${o.dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=wisp=${peer}`,
    '--initial-cluster-state=new',
    `--initial-cluster-token=${o.clusterToken}`,
    // Test data: a lost write on a host crash does not matter, fsync latency does.
    '--unsafe-no-fsync',
    '--log-level=warn',
  ];
}

export interface ApiServerArgsOptions {
  etcdUrl: string;
  bindAddress: string;
  /** The address in the `kubernetes` Service's endpoints (see advertiseAddressFor). */
  advertiseAddress: string;
  securePort: number;
  certDir: string;
  servingCert: string;
  servingKey: string;
  clientCaFile: string;
  tokenAuthFile: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  /** etcd key prefix; one etcd per control plane, so the default is fine. */
  etcdPrefix?: string;
  extra?: readonly string[];
}

export function apiServerArgs(o: ApiServerArgsOptions): string[] {
  return [
    `--etcd-servers=${o.etcdUrl}`,
    `--etcd-prefix=${o.etcdPrefix ?? '/registry'}`,
    `--bind-address=${o.bindAddress}`,
    `--advertise-address=${o.advertiseAddress}`,
    // kube-apiserver refuses a loopback address in the `kubernetes` Service's endpoints ("may not be in the loopback
    // range") and exits. Bound to loopback, nothing outside this host's network namespace could use them anyway
    // (Pods of the test kubelet have a loopback of their own, and no kube-proxy serves the ClusterIP): no endpoints.
    ...(isLoopback(o.advertiseAddress) ? ['--endpoint-reconciler-type=none'] : []),
    `--secure-port=${o.securePort}`,
    `--cert-dir=${o.certDir}`,
    `--tls-cert-file=${o.servingCert}`,
    `--tls-private-key-file=${o.servingKey}`,
    `--client-ca-file=${o.clientCaFile}`,
    `--token-auth-file=${o.tokenAuthFile}`,
    '--authorization-mode=Node,RBAC',
    `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
    `--service-account-key-file=${o.serviceAccountPub}`,
    `--service-account-signing-key-file=${o.serviceAccountKey}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    '--allow-privileged=true',
    '--profiling=false',
    ...(o.extra ?? []),
  ];
}

export interface ControllerManagerArgsOptions {
  kubeconfig: string;
  serviceAccountKey: string;
  rootCaFile: string;
  caCert: string;
  caKey: string;
  extra?: readonly string[];
}

export function controllerManagerArgs(o: ControllerManagerArgsOptions): string[] {
  return [
    `--kubeconfig=${o.kubeconfig}`,
    '--leader-elect=false',
    // Every on-by-default controller: none needs a cloud (1.37's --help lists no service-lb, node-route or
    // cloud-node-lifecycle controller; those run in a cloud-controller-manager).
    '--controllers=*',
    // No HTTPS endpoint: readiness is observed through the API (the `default` ServiceAccount appears).
    '--secure-port=0',
    `--service-account-private-key-file=${o.serviceAccountKey}`,
    `--root-ca-file=${o.rootCaFile}`,
    '--use-service-account-credentials=true',
    `--cluster-name=${CLUSTER_NAME}`,
    `--cluster-cidr=${CLUSTER_CIDR}`,
    '--allocate-node-cidrs=false',
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    // The CSR signer: kubelet-style client certificates can be issued by the test CA.
    `--cluster-signing-cert-file=${o.caCert}`,
    `--cluster-signing-key-file=${o.caKey}`,
    ...(o.extra ?? []),
  ];
}

export interface KubeconfigOptions {
  server: string;
  /** The CA certificate, PEM. */
  caPem: string;
  token: string;
  userName: string;
  cluster?: string;
  context?: string;
  namespace?: string;
}

/** A kubeconfig with one cluster, one token user and one context, set as current. */
export function kubeconfigYaml(o: KubeconfigOptions): string {
  const cluster = o.cluster ?? CLUSTER_NAME;
  const context = o.context ?? CONTEXT_NAME;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server: o.server, 'certificate-authority-data': Buffer.from(o.caPem).toString('base64') } }],
    users: [{ name: o.userName, user: { token: o.token } }],
    contexts: [{ name: context, context: { cluster, user: o.userName, ...(o.namespace === undefined ? {} : { namespace: o.namespace }) } }],
    'current-context': context,
    preferences: {},
  });
}
