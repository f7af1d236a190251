export {
  buildBrokerIngress,
  classify,
  resolveMaxBodyBytes,
  routeOf,
  ALLOW,
  ARRIVAL_TIME_EXTENSION,
  DEFAULT_MAX_BODY_BYTES,
  MIN_MAX_BODY_BYTES,
} from './server.js';
export type { BrokerIngress, BrokerIngressOptions, BrokerLookup } from './server.js';
export { parseMessage, contentMode, mediaType } from './parse.js';
export type { ContentMode, IngressMessage } from './parse.js';
export { ATTRIBUTE_NAME } from './attributes.js';
export { fastCloudEvent, sdkCloudEvent } from './build-event.js';
export type { EventBuilder } from './build-event.js';
export { IngressMetrics, BacklogMetrics } from './metrics.js';
export type { RejectReason } from './metrics.js';
