import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parseServiceHost, routeToEndpoint, serviceUrl } from '../../../../src/runtime/kubernetes/cluster-services.js';

const svc = (ports: { name?: string; port: number }[]): V1Service => ({ metadata: { name: 'display', namespace: 'team' }, spec: { ports } });
const slice = (ports: { name?: string; port: number }[], endpoints: { ip: string; ready?: boolean }[]): V1EndpointSlice => ({
  addressType: 'IPv4',
  metadata: { name: `display-${Math.random().toString(36).slice(2, 7)}`, namespace: 'team', labels: { 'kubernetes.io/service-name': 'display' } },
  ports,
  endpoints: endpoints.map((e) => ({ addresses: [e.ip], ...(e.ready !== undefined && { conditions: { ready: e.ready } }) })),
});

describe('v1 Services as destinations', () => {
  it('resolves to the cluster DNS name, with the port when it is not 80 (the port named http, else the first)', () => {
    expect(serviceUrl({ namespace: 'team', name: 'display', ports: [{ name: 'http', port: 80 }] })).toBe('http://display.team.svc.cluster.local');
    expect(serviceUrl({ namespace: 'team', name: 'display', ports: [{ name: 'metrics', port: 9090 }, { name: 'http', port: 8080 }] })).toBe(
      'http://display.team.svc.cluster.local:8080',
    );
    expect(serviceUrl({ namespace: 'team', name: 'display', ports: [] })).toBe('http://display.team.svc.cluster.local');
    expect(serviceUrl({ namespace: 'team', name: 'display', ports: [{ port: 81 }] }, 'corp.internal')).toBe('http://display.team.svc.corp.internal:81');
  });

  it('recognises the hosts of cluster DNS and nothing else', () => {
    expect(parseServiceHost('display.team.svc.cluster.local')).toEqual({ name: 'display', namespace: 'team' });
    expect(parseServiceHost('Display.Team.svc')).toEqual({ name: 'display', namespace: 'team' });
    expect(parseServiceHost('display.team.svc.cluster.local.')).toEqual({ name: 'display', namespace: 'team' });
    expect(parseServiceHost('display.team.svc.other.domain')).toBeUndefined();
    expect(parseServiceHost('display.team.localhost')).toBeUndefined();
    expect(parseServiceHost('10.0.0.1')).toBeUndefined();
  });

  it('outside the cluster, routes to the ready endpoints of the matching port in turn, and says why when it cannot', () => {
    const lookup = (s: V1Service | undefined, slices: V1EndpointSlice[]) => ({ service: () => s, slices: () => slices });
    const http = svc([{ name: 'http', port: 80 }, { name: 'admin', port: 9000 }]);
    const slices = [
      slice([{ name: 'http', port: 8080 }, { name: 'admin', port: 9001 }], [{ ip: '10.244.0.7' }, { ip: '10.244.0.5', ready: true }, { ip: '10.244.0.9', ready: false }]),
    ];
    const origin = 'http://display.team.svc.cluster.local';
    const picks = [0, 1, 2].map((n) => routeToEndpoint(origin, lookup(http, slices), n));
    expect(picks).toEqual([{ origin: 'http://10.244.0.5:8080' }, { origin: 'http://10.244.0.7:8080' }, { origin: 'http://10.244.0.5:8080' }]);
    expect(routeToEndpoint('http://display.team.svc.cluster.local:9000', lookup(http, slices), 0)).toEqual({ origin: 'http://10.244.0.5:9001' });
    expect(routeToEndpoint('http://display.team.svc:9999', lookup(http, slices), 0)).toEqual({ error: 'service team/display has no port 9999 (it has 80, 9000)' });
    expect(routeToEndpoint(origin, lookup(undefined, slices), 0)).toEqual({ error: expect.stringContaining('service team/display not found') as string });
    expect(routeToEndpoint(origin, lookup(http, [slice([{ name: 'http', port: 8080 }], [{ ip: '10.244.0.9', ready: false }])]), 0)).toEqual({
      error: 'service team/display has no ready endpoint for port 80',
    });
    // An unnamed single port matches an unnamed slice port; IPv6 addresses get brackets.
    const v6 = routeToEndpoint(origin, lookup(svc([{ port: 80 }]), [slice([{ port: 8080 }], [{ ip: 'fd00::5' }])]), 0);
    expect(v6).toEqual({ origin: 'http://[fd00::5]:8080' });
    expect(routeToEndpoint('http://example.com', lookup(http, slices), 0)).toBeUndefined();
  });
});
