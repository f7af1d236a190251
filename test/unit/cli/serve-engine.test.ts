import { describe, expect, it } from 'vitest';
import { resolveUpOptions } from '../../../src/cli/config.js';

describe('wisp up --serve-engine (flags and environment)', () => {
  it('defaults to none: no serve engine in the options, today\'s behaviour', () => {
    expect(resolveUpOptions({}, {}).serveEngine).toBeUndefined();
    expect(resolveUpOptions({ serveEngine: 'none' }, {}).serveEngine).toBeUndefined();
  });

  it('takes haproxy from the flag or WISP_SERVE_ENGINE, with WISP_HAPROXY and WISP_HAPROXY_THREADS', () => {
    expect(resolveUpOptions({ serveEngine: 'haproxy' }, {}).serveEngine).toEqual({ engine: 'haproxy' });
    expect(resolveUpOptions({}, { WISP_SERVE_ENGINE: 'HAProxy', WISP_HAPROXY: '/opt/haproxy', WISP_HAPROXY_THREADS: '2' }).serveEngine).toEqual({ engine: 'haproxy', binary: '/opt/haproxy', threads: 2 });
    // The flag wins over the environment.
    expect(resolveUpOptions({ serveEngine: 'none' }, { WISP_SERVE_ENGINE: 'haproxy' }).serveEngine).toBeUndefined();
  });

  it('rejects unknown engines, Kubernetes mode, split components and stray settings with what to do', () => {
    expect(() => resolveUpOptions({ serveEngine: 'nginx' }, {})).toThrow("wisp: invalid value 'nginx' for --serve-engine: expected one of none, haproxy");
    expect(() => resolveUpOptions({}, { WISP_SERVE_ENGINE: 'envoy' })).toThrow("for WISP_SERVE_ENGINE: expected one of none, haproxy");
    expect(() => resolveUpOptions({ serveEngine: 'haproxy', runtime: 'kubernetes' }, {})).toThrow('--serve-engine haproxy runs only in embedded mode');
    expect(() => resolveUpOptions({ serveEngine: 'haproxy', runtime: 'kubernetes', component: 'activator' }, {})).toThrow(/runs only (in embedded mode|with --component all)/);
    expect(() => resolveUpOptions({}, { WISP_HAPROXY: '/usr/sbin/haproxy' })).toThrow('WISP_HAPROXY only applies with --serve-engine haproxy');
    expect(() => resolveUpOptions({ serveEngine: 'haproxy' }, { WISP_HAPROXY_THREADS: '0' })).toThrow("invalid value '0' for WISP_HAPROXY_THREADS: expected an integer from 1 to 64");
  });

  it('refuses the serve engine together with several data-plane processes (haproxy fronts one activator)', () => {
    expect(() => resolveUpOptions({ serveEngine: 'haproxy', dataPlaneProcesses: '2' }, {})).toThrow('--serve-engine haproxy and --data-plane-processes 2 do not combine yet');
    expect(resolveUpOptions({ serveEngine: 'haproxy', dataPlaneProcesses: '1' }, {}).serveEngine).toEqual({ engine: 'haproxy' });
  });
});
