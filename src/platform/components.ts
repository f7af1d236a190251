/**
 * The data-plane components of a split install (`wisp up --runtime kubernetes --component activator|broker`, one
 * Deployment each in manifests/), as Knative runs its activator and its broker ingress/filter apart from the
 * controller. Each reads the API server with a list-watch of its own and writes nothing to it:
 *
 * - **activator**: the Service ingress. Its routing table is built from the Routes' and Revisions' the controller
 *   writes (RoutingView), its replicas' endpoints from the runtime's watch of EndpointSlices; it reports concurrency
 *   and pokes to the controller's autoscaler over HTTP (RemoteReporter → autoscaler/stats-server.ts).
 * - **broker**: the broker ingress and the Triggers' consumers (dispatcher), from the Brokers and Triggers it reads;
 *   the controller writes their status and owns their durable storage.
 *
 * Both serve /healthz and /readyz (and /metrics, with the bearer token) on the control API port; the rest of that API
 * there shows what the component reads, with its ServiceAccount's rights (read only).
 */
import { hostname } from 'node:os';
import { Activator, RemoteReporter, shareOf } from '../../activator/index.js';
import { HttpSender } from '../../broker/delivery/index.js';
import { RoutingView } from '../control/serving/routing-view.js';
import { serviceHostname } from '../runtime/index.js';
import { ComponentAddressError } from './errors.js';
import { eventingSettings, startEventing } from './eventing.js';
import { beginProcess, listenControlApi, urlHost } from './process.js';
import { openDataPlaneSeams } from './seams-kube.js';
import { DEFAULT_AUTOSCALER_PORT, type Platform, type PlatformOptions } from './types.js';

/** The controller's stats Service in manifests/ (its Ready Pod is the leader). */
export const AUTOSCALER_SERVICE = 'wisp-autoscaler';

export async function startDataPlane(component: 'activator' | 'broker', options: PlatformOptions): Promise<Platform> {
  const { clock, log, closers, closeAll, apiToken, apiTls, registry } = await beginProcess(options);
  try {
    const seams = await openDataPlaneSeams(component, options, { clock, log });
    closers.push(() => seams.close());
    log.info(`runtime: ${seams.describe}`);
    let ready = false;
    let urls: { ingress?: string; broker?: string };
    let idle: () => Promise<void>;
    let isReady: () => boolean;

    if (component === 'activator') {
      const url =
        options.autoscalerUrl ??
        (seams.inClusterNamespace !== undefined ? `http://${serviceHostname(AUTOSCALER_SERVICE, seams.inClusterNamespace)}:${DEFAULT_AUTOSCALER_PORT}` : undefined);
      if (url === undefined) {
        throw new ComponentAddressError('wisp up --component activator outside the cluster needs --autoscaler-url (or WISP_AUTOSCALER_URL): the controller\'s autoscaler stats endpoint');
      }
      // Its name in the autoscaler's sums: the Pod's (downward API), else this host and process.
      const source = (process.env.POD_NAME ?? '').trim() || `${hostname()}-${process.pid}`;
      // The autoscaler answers each report with the activators it hears from: this one's share of limited replicas.
      let activator: Activator | undefined;
      const reporter = new RemoteReporter({ url, source, logger: log, onActivators: (names) => activator?.setShare(shareOf(source, names)) });
      closers.push(() => reporter.close());
      activator = new Activator({ clock, reporter, registry, logger: log });
      const listening = await activator.listen({ port: options.ingressPort, host: options.host });
      closers.push(() => activator.close());
      const view = new RoutingView({ store: seams.store, runtime: seams.runtime!, activator });
      view.start();
      closers.push(() => view.stop());
      log.info(`activator: reporting to the autoscaler at ${url} as ${source}`);
      urls = { ingress: `http://${urlHost(options.host)}:${listening.port}` };
      idle = async () => undefined;
      isReady = () => true;
    } else {
      // Outside the cluster a v1 Service's DNS name does not resolve: deliveries to one go to a ready endpoint of it.
      const services = seams.services!;
      const sender = new HttpSender(seams.outOfCluster ? { route: (origin: string) => services.route(origin) } : {});
      closers.push(() => sender.close());
      const eventing = await startEventing({
        store: seams.store,
        clock,
        registry,
        ...eventingSettings(options),
        log,
        sender,
        coreServices: services,
        role: 'data',
      });
      closers.push(() => eventing.close());
      urls = { broker: `http://${urlHost(options.host)}:${eventing.port}` };
      idle = () => eventing.reconciler.idle();
      // Ready once every Broker and Trigger listed at start is served: before that a Memory broker answers 503.
      isReady = () => eventing.reconciler.synced;
    }

    const { apiUrl } = await listenControlApi(options, {
      store: seams.store,
      registry,
      ready: () => ready && isReady(),
      token: apiToken.token,
      mode: 'kubernetes',
      closers,
      ...(apiTls && { tls: apiTls }),
    });
    await idle();
    ready = true;
    let closing: Promise<void> | undefined;
    return {
      urls: { ...urls, api: apiUrl },
      component,
      runtime: seams.describe,
      tokenFile: apiToken.file,
      applied: [],
      close: () => (closing ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
