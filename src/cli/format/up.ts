/** What `wisp up` prints. Pure. */
import type { Platform, PlatformOptions } from '../../platform/types.js';
import { CLI_DEFAULTS } from '../defaults.js';

/**
 * The start-up banner: what was applied, the endpoints (the control API with its scheme and token file), and commands
 * to try. `options` (as given) adds `--state-dir` and the CA hint to the example command when they are needed.
 */
export function formatUpBanner(
  platform: Pick<Platform, 'urls' | 'applied' | 'tokenFile'> & Partial<Pick<Platform, 'runtime' | 'component'>>,
  options: Partial<Pick<PlatformOptions, 'stateDir' | 'apiTls'>> = {},
): string {
  const lines: string[] = [];
  for (const a of platform.applied) {
    lines.push(`${a.ref} ${a.result}`);
    for (const w of a.warnings) lines.push(`Warning: ${w}`);
  }
  const { ingress, broker, api, autoscaler } = platform.urls;
  const component = platform.component ?? 'all';
  lines.push(
    component === 'all' ? 'Wisp is up.' : `Wisp ${component} is up.`,
    ...(platform.runtime !== undefined && platform.runtime.startsWith('kubernetes') ? [`  Runtime          ${platform.runtime}`] : []),
    ...(ingress !== undefined ? [`  Service ingress  ${ingress}   (route by Host: <service>.<namespace>.localhost, or by path: /<namespace>/<service>/...)`] : []),
    ...(broker !== undefined ? [`  Broker ingress   ${broker}/<namespace>/<broker>`] : []),
    ...(autoscaler !== undefined ? [`  Autoscaler stats ${autoscaler}   (activators POST /v1/stats and /v1/poke)`] : []),
    component === 'activator' || component === 'broker'
      ? `  Probes           ${api}   (/healthz, /readyz; /metrics with the bearer token in ${platform.tokenFile})`
      : `  Control API      ${api}   (wisp --server, /healthz, /metrics; bearer token in ${platform.tokenFile})`,
  );
  if (component === 'activator' || component === 'broker') return lines.join('\n') + '\n';
  lines.push('Try:');
  const services = platform.applied.filter((a) => a.ref.startsWith('service.serving.knative.dev/'));
  for (const s of services) {
    const name = s.ref.slice('service.serving.knative.dev/'.length);
    if (ingress !== undefined) lines.push(`  curl -H 'Host: ${name}.${s.namespace}.localhost' ${ingress}`);
  }
  const brokers = platform.applied.filter((a) => a.ref.startsWith('broker.eventing.knative.dev/'));
  for (const b of brokers) {
    const name = b.ref.slice('broker.eventing.knative.dev/'.length);
    if (broker !== undefined) lines.push(
      `  curl ${broker}/${b.namespace}/${name} -H 'ce-specversion: 1.0' -H 'ce-id: 1' -H 'ce-source: /try' -H 'ce-type: dev.example.order' -H 'content-type: application/json' -d '{"item":"book"}'`,
    );
  }
  const serverFlag = api.replace(/\/+$/, '') === CLI_DEFAULTS.server ? '' : ` --server ${api}`;
  const stateDirFlag = options.stateDir === undefined || options.stateDir === CLI_DEFAULTS.stateDir ? '' : ` --state-dir ${options.stateDir}`;
  const trust = options.apiTls ? `NODE_EXTRA_CA_CERTS=${options.apiTls.certFile} ` : '';
  lines.push(`  ${trust}npx wisp get ksvc${serverFlag}${stateDirFlag}`);
  return lines.join('\n') + '\n';
}

const PORT_FLAGS = [
  ['ingressPort', '--ingress-port'],
  ['brokerPort', '--broker-port'],
  ['apiPort', '--api-port'],
] as const;

/** One clear line for a start-up failure, naming the flag of a port that is taken. */
export function describeStartError(err: unknown, options: PlatformOptions): string {
  const e = err as { code?: unknown; port?: unknown; address?: unknown; message?: unknown };
  if (typeof err === 'object' && err !== null && (e.code === 'EADDRINUSE' || e.code === 'EACCES')) {
    const port = typeof e.port === 'number' ? e.port : Number(/:(\d+)\s*$/.exec(String(e.message))?.[1]);
    const flag = PORT_FLAGS.find(([key]) => options[key] === port)?.[1];
    const why = e.code === 'EADDRINUSE' ? 'is in use' : 'needs privileges to bind';
    if (Number.isFinite(port)) return `wisp up: port ${port} ${why}${flag ? ` (${flag})` : ''}`;
  }
  const message = err instanceof Error ? err.message : String(err);
  // Invalid start-up manifests list one line per object; anything else is one line.
  if (e.code === 'WISP_ERR_STARTUP_MANIFEST') return `wisp up: ${message}`;
  return `wisp up: ${message.split('\n')[0] ?? message}`;
}
