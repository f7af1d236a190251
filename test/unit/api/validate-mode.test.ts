/**
 * Admission by mode: what `wisp apply` accepts against an embedded Wisp and against one running `--runtime kubernetes`
 * (an ApiServerSource of any kind, SinkBindings of Deployments and Jobs), through validate() and the control API.
 */
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validate } from '../../../src/api/validate.js';
import { buildApiServer } from '../../../src/control/api-server.js';
import { Store } from '../../../src/control/store.js';

const eventSource = {
  apiVersion: 'sources.knative.dev/v1',
  kind: 'ApiServerSource',
  metadata: { name: 'events', namespace: 'default' },
  spec: {
    mode: 'Resource',
    serviceAccountName: 'events-sa',
    resources: [{ apiVersion: 'v1', kind: 'Event' }],
    sink: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'event-display' } },
  },
};

const binding = (apiVersion: string, kind: string) => ({
  apiVersion: 'sources.knative.dev/v1',
  kind: 'SinkBinding',
  metadata: { name: `bind-${kind.toLowerCase()}`, namespace: 'default' },
  spec: {
    subject: { apiVersion, kind, selector: { matchLabels: { app: 'producer' } } },
    sink: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'event-display' } },
  },
});

describe('validate() by mode', () => {
  it('embedded (the default) refuses an ApiServerSource of a kind Wisp does not serve; kubernetes accepts any kind', () => {
    expect(validate(eventSource).errors).toEqual([{ field: 'spec.resources[0]', message: 'unknown kind "Event" in "v1"' }]);
    expect(validate(eventSource, { mode: 'embedded' }).errors).toHaveLength(1);
    expect(validate(eventSource, { mode: 'kubernetes' }).errors).toEqual([]);
    // Still required on Kubernetes: apiVersion and kind.
    expect(validate({ ...eventSource, spec: { ...eventSource.spec, resources: [{ kind: 'Event' }] } }, { mode: 'kubernetes' }).errors).toEqual([
      { field: 'spec.resources[0]', message: 'missing field(s): apiVersion' },
    ]);
  });

  it('embedded binds only ksvcs (today\'s message); kubernetes binds Deployments, Jobs and ksvcs, and says so for other kinds', () => {
    expect(validate(binding('apps/v1', 'Deployment')).errors).toEqual([
      { field: 'spec.subject', message: 'cannot bind apps/v1 Deployment: the local runtime runs only serving.knative.dev/v1 Service; bind the Service that runs the code' },
    ]);
    expect(validate(binding('batch/v1', 'Job')).errors).toHaveLength(1);
    for (const [v, k] of [['apps/v1', 'Deployment'], ['batch/v1', 'Job'], ['serving.knative.dev/v1', 'Service']] as const) {
      expect(validate(binding(v, k), { mode: 'kubernetes' }).errors, `${v} ${k}`).toEqual([]);
    }
    expect(validate(binding('apps/v1', 'StatefulSet'), { mode: 'kubernetes' }).errors).toEqual([
      { field: 'spec.subject', message: 'cannot bind apps/v1 StatefulSet: Wisp binds apps/v1 Deployment, batch/v1 Job and serving.knative.dev/v1 Service' },
    ]);
  });
});

describe('the control API passes its mode to admission', () => {
  let store: Store;
  beforeEach(async () => {
    store = await Store.open({});
  });
  afterEach(async () => store.close());

  const put = async (mode: 'embedded' | 'kubernetes' | undefined, obj: { metadata: { name: string }; kind: string }) => {
    const app = buildApiServer({ store, registry: new Registry(), token: 't', ...(mode && { mode }) });
    const plural = obj.kind === 'ApiServerSource' ? 'apiserversources' : 'sinkbindings';
    const res = await app.inject({
      method: 'PUT',
      url: `/apis/sources.knative.dev/v1/namespaces/default/${plural}/${obj.metadata.name}`,
      headers: { authorization: 'Bearer t', 'content-type': 'application/json', host: '127.0.0.1' },
      payload: JSON.stringify(obj),
    });
    await app.close();
    return { status: res.statusCode, body: JSON.parse(res.body) as { message?: string } };
  };

  it('embedded (default): 422 with the field and reason', async () => {
    const r = await put(undefined, eventSource);
    expect(r.status).toBe(422);
    expect(r.body.message).toBe('ApiServerSource "events" is invalid: spec.resources[0]: unknown kind "Event" in "v1"');
    expect((await put('embedded', binding('batch/v1', 'Job'))).status).toBe(422);
  });

  it('kubernetes: created', async () => {
    expect((await put('kubernetes', eventSource)).status).toBe(201);
    expect((await put('kubernetes', binding('apps/v1', 'Deployment'))).status).toBe(201);
    expect((await put('kubernetes', binding('batch/v1', 'Job'))).status).toBe(201);
  });
});
