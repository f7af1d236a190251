import { describe, expect, it } from 'vitest';
import { resolveUpOptions } from '../../../src/cli/config.js';
import { UsageError } from '../../../src/cli/errors.js';
import { publicBaseUrls } from '../../../src/platform/addresses.js';

describe('public base URLs (WISP_ACTIVATOR_URL, WISP_BROKER_INGRESS_URL)', () => {
  it('reads both from the environment, dropping a trailing slash; unset leaves them out', () => {
    const o = resolveUpOptions({}, { WISP_ACTIVATOR_URL: 'https://fn.example.com/', WISP_BROKER_INGRESS_URL: 'http://events.example.com:8081' });
    expect(o.publicUrls).toEqual({ activator: 'https://fn.example.com', brokerIngress: 'http://events.example.com:8081' });
    expect(resolveUpOptions({}, {}).publicUrls).toBeUndefined();
  });

  it('refuses what is not an http(s) base URL, naming the variable', () => {
    expect(() => resolveUpOptions({}, { WISP_ACTIVATOR_URL: 'fn.example.com' })).toThrow(UsageError);
    expect(() => resolveUpOptions({}, { WISP_ACTIVATOR_URL: 'ftp://fn.example.com' })).toThrow(/WISP_ACTIVATOR_URL/);
    expect(() => resolveUpOptions({}, { WISP_BROKER_INGRESS_URL: 'http://e.example.com/?x=1' })).toThrow(/WISP_BROKER_INGRESS_URL: expected an http or https base URL/);
  });

  it('in the cluster defaults to the Services of manifests/ in Wisp\'s namespace; outside it to nothing (the local listeners)', () => {
    expect(publicBaseUrls({})).toEqual({});
    expect(publicBaseUrls({ inClusterNamespace: 'wisp-system' })).toEqual({
      activator: 'http://wisp-activator.wisp-system.svc.cluster.local',
      brokerIngress: 'http://wisp-broker-ingress.wisp-system.svc.cluster.local',
    });
    expect(publicBaseUrls({ inClusterNamespace: 'wisp-system', given: { brokerIngress: 'https://events.example.com' } })).toEqual({
      activator: 'http://wisp-activator.wisp-system.svc.cluster.local',
      brokerIngress: 'https://events.example.com',
    });
  });
});
