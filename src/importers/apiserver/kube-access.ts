/**
 * How ApiServerSource runners reach the cluster in Kubernetes mode: Wisp's own client (discovery, Namespaces) and,
 * per ServiceAccount, a client of the same kubeconfig that sends `Impersonate-User` (client-node's `as`), so a
 * source sees only what its ServiceAccount may see. Wisp's own identity needs the `impersonate` verb on
 * `serviceaccounts` for that.
 */
import { KubeConfig, type User } from '@kubernetes/client-node';
import type { Clock } from '../../clock.js';
import { KubeClient } from '../../control/kube/client.js';
import { ApiDiscovery } from './discovery.js';
import type { KubeApiServerAccess } from './kube-runner.js';

/** A copy of `config` whose current user impersonates `user` (every other setting unchanged). */
export function impersonating(config: KubeConfig, user: string): KubeConfig {
  const current = config.getCurrentUser();
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: config.getClusters(),
    contexts: config.getContexts(),
    users: config.getUsers().map((u): User => (u.name === current?.name ? { ...u, impersonateUser: user } : u)),
    currentContext: config.getCurrentContext(),
  });
  return kc;
}

/** The access of every ApiServerSource runner of one `wisp up`: one discovery cache, one client per impersonated user. */
export function kubeApiServerAccess(client: KubeClient, clock: Clock): KubeApiServerAccess {
  const asUser = new Map<string, KubeClient>();
  return {
    own: client,
    discovery: new ApiDiscovery({ api: client, clock }),
    asUser(user: string): KubeClient {
      let c = asUser.get(user);
      if (!c) {
        c = new KubeClient(impersonating(client.config, user));
        asUser.set(user, c);
      }
      return c;
    },
  };
}
