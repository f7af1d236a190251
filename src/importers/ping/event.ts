/** The CloudEvent a PingSource emits on each tick (Knative's mtping adapter). Pure: id and fire time are handed in. */
import { CloudEvent } from 'cloudevents';

export const PING_EVENT_TYPE = 'dev.knative.sources.ping';

/** What a PingSource sends, from its spec. */
export interface PingPayload {
  contentType?: string;
  data?: string;
  dataBase64?: string;
  /** `spec.ceOverrides.extensions`. */
  extensions?: Readonly<Record<string, string>>;
}

/** `/apis/v1/namespaces/<ns>/pingsources/<name>`, Knative's PingSource event source. */
export function pingSourceUri(namespace: string, name: string): string {
  return `/apis/v1/namespaces/${namespace}/pingsources/${name}`;
}

/** The event of the tick scheduled at `fireAt` (ms since epoch): `time` is the scheduled time, not the send time. */
export function pingEvent(opts: { namespace: string; name: string; id: string; fireAt: number; payload: PingPayload }): CloudEvent<unknown> {
  const { payload } = opts;
  const attrs: Record<string, unknown> = {
    ...(payload.extensions ?? {}),
    specversion: '1.0',
    id: opts.id,
    type: PING_EVENT_TYPE,
    source: pingSourceUri(opts.namespace, opts.name),
    time: new Date(opts.fireAt).toISOString(),
  };
  if (payload.contentType !== undefined && payload.contentType !== '') attrs.datacontenttype = payload.contentType;
  if (payload.dataBase64 !== undefined && payload.dataBase64 !== '') attrs.data = Buffer.from(payload.dataBase64, 'base64');
  else if (payload.data !== undefined && payload.data !== '') attrs.data = payload.data;
  return new CloudEvent<unknown>(attrs, false);
}
