import { WispError } from '../errors.js';

/**
 * A component of a split install was started where it cannot tell others how to reach its peers: outside the cluster
 * (no Services to name), the controller needs the activator's and the broker ingress's URLs for Services' and
 * Brokers' addresses, and an activator the autoscaler's URL for its stats.
 */
export class ComponentAddressError extends WispError<'WISP_ERR_COMPONENT_ADDRESS'> {
  readonly code = 'WISP_ERR_COMPONENT_ADDRESS';
  readonly statusCode = 400;
  readonly retriable = false;

  constructor(message = 'wisp up --component controller outside the cluster needs WISP_ACTIVATOR_URL and WISP_BROKER_INGRESS_URL: where the activator and broker components are reached (Services\' and Brokers\' addresses are built on them)') {
    super(message);
  }
}
