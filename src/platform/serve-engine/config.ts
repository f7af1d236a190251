/**
 * haproxy.cfg and the host map, rendered from the engine's state (pure: no I/O). A reload starts a new worker from
 * these files alone, so they always carry the whole current state (every endpoint, every host's mode); between
 * reloads the runtime API changes the same things in place (engine.ts).
 */

/** The backend every host falls back to: the Node activator (proxy mode, unknown hosts, path routes, splits). */
export const ACTIVATOR_BACKEND = 'be_activator';

/** Server slots per revision backend: endpoints beyond them keep the revision on the activator (it balances any count). */
export const DEFAULT_SLOTS = 32;

/** Under the 20 000 file descriptors a process gets here: each client connection may hold a server connection too. */
export const DEFAULT_MAXCONN = 4000;

export interface SlotEndpoint {
  host: string;
  port: number;
}

export interface BackendSpec {
  /** Revision key `<ns>/<revision>`. */
  key: string;
  /** 0 = unlimited; else each server takes at most this many requests at once, the rest wait in the backend's queue. */
  containerConcurrency: number;
  timeoutSeconds: number;
  /** One entry per slot: the endpoint it serves, or undefined (the slot is in maintenance). */
  slots: readonly (SlotEndpoint | undefined)[];
}

export interface EngineConfig {
  /** Where clients connect: the port in Services' status.url. */
  ingress: { host: string; port: number };
  /** The activator's internal listener (127.0.0.1). */
  activatorPort: number;
  mapFile: string;
  /** The worker's own CLI socket (expose-fd listeners: seamless reloads). */
  adminSocket: string;
  errorDir: string;
  threads: number;
  maxconn: number;
  /** Longest time the activator may take on a request (its own timeouts end it before this). */
  activatorTimeoutSeconds: number;
  /** Header read timeout for clients (ms), as the activator's. */
  headersTimeoutMs: number;
  /** Idle keep-alive of client connections (ms), as the activator's node:http server (5 s). */
  keepAliveMs: number;
  backends: readonly BackendSpec[];
}

/** The backend of a revision: `rev_<ns>_<name>` (Kubernetes names carry no `_`, so it maps back one to one). */
export function backendName(key: string): string {
  const slash = key.indexOf('/');
  return `rev_${key.slice(0, slash)}_${key.slice(slash + 1)}`;
}

/** The revision key of a backend name; undefined for the activator's and foreign ones. */
export function keyOfBackend(name: string): string | undefined {
  if (!name.startsWith('rev_')) return undefined;
  const rest = name.slice(4);
  const sep = rest.indexOf('_');
  return sep < 0 ? undefined : `${rest.slice(0, sep)}/${rest.slice(sep + 1)}`;
}

export function slotName(i: number): string {
  return `s${i + 1}`;
}

/** The map file: one `host backend` line per host that may be served (`be_activator` while in proxy mode). */
export function renderMap(entries: ReadonlyMap<string, string>): string {
  let out = '';
  for (const [host, backend] of [...entries].sort(([a], [b]) => a.localeCompare(b))) out += `${host} ${backend}\n`;
  return out;
}

/**
 * Request headers as the activator sets them (activator/headers.ts), with haproxy's cheapest means (each rule costs
 * CPU on every request): X-Forwarded-For and Forwarded get this hop appended as one more header line (a list split
 * over lines is the same list, RFC 9110 §5.3; node:http joins them as the activator writes them), the Forwarded host
 * always as a quoted-string (RFC 7239 allows it for any value), IPv6 `for` bracketed; X-Forwarded-Proto and
 * X-Forwarded-Host when absent; hop-by-hop headers dropped both ways. haproxy itself handles Connection and
 * Transfer-Encoding. Requests without Host never reach these backends (the map has no key for them).
 */
const FORWARDING = [
  'option forwardfor',
  'http-request set-header X-Forwarded-Proto http unless { req.hdr_cnt(x-forwarded-proto) gt 0 }',
  'http-request set-header X-Forwarded-Host %[req.fhdr(host)] unless { req.hdr_cnt(x-forwarded-host) gt 0 }',
  'http-request add-header Forwarded "for=%[src];host=\\"%[req.fhdr(host)]\\";proto=http" if { src -m ip 0.0.0.0/0 }',
  'http-request add-header Forwarded "for=\\"[%[src]]\\";host=\\"%[req.fhdr(host)]\\";proto=http" unless { src -m ip 0.0.0.0/0 }',
  'http-request del-header keep-alive',
  'http-request del-header proxy-connection',
  'http-request del-header proxy-authorization',
  'http-request del-header te',
  'http-request del-header trailer',
  'http-request del-header upgrade',
  'http-request del-header http2-settings',
  'http-response del-header keep-alive',
  'http-response del-header proxy-connection',
  'http-response del-header proxy-authenticate',
  'http-response del-header trailer',
  'http-response del-header upgrade',
];

/** Plain-text error answers (the activator's are text too), one file per status haproxy itself may send. */
export const ERROR_PAGES: Readonly<Record<number, string>> = Object.freeze({
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
});

export function renderErrorPage(status: number, reason: string, message: string): string {
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(message)}\r\nconnection: close\r\n${status === 503 ? 'retry-after: 1\r\n' : ''}\r\n${message}`;
}

export const ERROR_MESSAGES: Readonly<Record<number, string>> = Object.freeze({
  502: 'the replica failed before answering (serve engine)\n',
  503: 'no replica could take the request in time (serve engine)\n',
  504: 'the replica did not answer within the revision\'s timeoutSeconds (serve engine)\n',
});

export function renderConfig(c: EngineConfig): string {
  const bind = c.ingress.host.includes(':') ? `[${c.ingress.host}]:${c.ingress.port}` : `${c.ingress.host}:${c.ingress.port}`;
  const lines: string[] = [
    '# Written by wisp up (serve engine); rewritten on every reload.',
    'global',
    `  nbthread ${c.threads}`,
    `  maxconn ${c.maxconn}`,
    '  log stderr format raw local0 notice',
    '  hard-stop-after 30s',
    // The listening sockets pass from the old worker to the new one on a reload (no refused connections).
    `  stats socket ${c.adminSocket} mode 600 level admin expose-fd listeners`,
    '',
    'defaults',
    '  mode http',
    '  option http-keep-alive',
    // A reload must not close a client's idle keep-alive connection under a request it is sending: the old worker
    // answers one more request on it with `Connection: close` instead (haproxy < 2.4's behaviour).
    '  option idle-close-on-response',
    '  timeout connect 5s',
    `  timeout client ${c.activatorTimeoutSeconds + 60}s`,
    `  timeout http-request ${c.headersTimeoutMs}ms`,
    `  timeout http-keep-alive ${c.keepAliveMs}ms`,
    `  timeout server ${c.activatorTimeoutSeconds + 60}s`,
    '  http-reuse always',
    ...Object.keys(ERROR_PAGES).map((s) => `  errorfile ${s} ${c.errorDir}/${s}.http`),
    '',
    'frontend ingress',
    `  bind ${bind}`,
    `  use_backend %[req.fhdr(host),lower,field(1,:),map(${c.mapFile},${ACTIVATOR_BACKEND})]`,
    `  default_backend ${ACTIVATOR_BACKEND}`,
    '',
    // The activator sets the forwarding headers itself and sees haproxy as its one client.
    `backend ${ACTIVATOR_BACKEND}`,
    `  server activator 127.0.0.1:${c.activatorPort}`,
  ];
  for (const b of c.backends) {
    const maxconn = b.containerConcurrency > 0 ? ` maxconn ${b.containerConcurrency}` : '';
    lines.push(
      '',
      `backend ${backendName(b.key)}`,
      // Retry only what never reached a replica: a refused or failed connect, on another server.
      '  retries 3',
      '  option redispatch 1',
      '  retry-on conn-failure',
      `  timeout queue ${b.timeoutSeconds}s`,
      `  timeout server ${b.timeoutSeconds}s`,
      ...FORWARDING.map((l) => `  ${l}`),
    );
    b.slots.forEach((ep, i) => {
      const addr = ep === undefined ? '127.0.0.1:1' : `${ep.host.includes(':') ? `[${ep.host}]` : ep.host}:${ep.port}`;
      lines.push(`  server ${slotName(i)} ${addr}${maxconn}${ep === undefined ? ' disabled' : ''}`);
    });
  }
  return lines.join('\n') + '\n';
}
