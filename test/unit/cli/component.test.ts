import { describe, expect, it } from 'vitest';
import { resolveLeaderElection, resolveUpOptions } from '../../../src/cli/config.js';

const k8s = { runtime: 'kubernetes' };

describe('wisp up WISP_API_TOKEN', () => {
  it('is the control API token when set, and refused with the reason when it cannot be a bearer token', () => {
    expect(resolveUpOptions({}, { WISP_API_TOKEN: ' 0123456789abcdef0123 ' }).apiToken).toBe('0123456789abcdef0123');
    expect(resolveUpOptions({}, {}).apiToken).toBeUndefined();
    expect(() => resolveUpOptions({}, { WISP_API_TOKEN: 'short' })).toThrow('wisp: invalid WISP_API_TOKEN: a bearer token is 16 to 4096 visible ASCII characters without spaces');
    expect(() => resolveUpOptions({}, { WISP_API_TOKEN: 'has a space in the middle' })).toThrow(/invalid WISP_API_TOKEN/);
  });
});

describe('wisp up --component (the split install)', () => {
  it('defaults to all, with nothing of the split set', () => {
    const o = resolveUpOptions(k8s, {});
    expect(o.component).toBeUndefined();
    expect(o.autoscalerPort).toBeUndefined();
  });

  it('controller listens for stats on 8082 unless told; activator takes --autoscaler-url or WISP_AUTOSCALER_URL', () => {
    expect(resolveUpOptions({ ...k8s, component: 'controller' }, {})).toMatchObject({ component: 'controller', autoscalerPort: 8082 });
    expect(resolveUpOptions({ ...k8s, component: 'Controller', autoscalerPort: '9000' }, {})).toMatchObject({ autoscalerPort: 9000 });
    expect(resolveUpOptions(k8s, { WISP_COMPONENT: 'activator', WISP_AUTOSCALER_URL: 'http://wisp-autoscaler:8082/' })).toMatchObject({
      component: 'activator',
      autoscalerUrl: 'http://wisp-autoscaler:8082',
    });
    expect(resolveUpOptions({ ...k8s, component: 'broker' }, {}).component).toBe('broker');
  });

  it('refuses what cannot work, naming the flag or variable', () => {
    expect(() => resolveUpOptions({ component: 'activator' }, {})).toThrow(/--component activator only applies with --runtime kubernetes/);
    expect(() => resolveUpOptions(k8s, { WISP_COMPONENT: 'dispatcher' })).toThrow("invalid value 'dispatcher' for WISP_COMPONENT: expected one of all, controller, activator, broker");
    expect(() => resolveUpOptions({ ...k8s, component: 'activator', autoscalerPort: '9000' }, {})).toThrow(/--autoscaler-port only applies with --component controller/);
    expect(() => resolveUpOptions({ ...k8s, component: 'controller', autoscalerUrl: 'http://x' }, {})).toThrow(/--autoscaler-url only applies with --component activator/);
    expect(() => resolveUpOptions({ ...k8s, component: 'activator', autoscalerUrl: 'ftp://x' }, {})).toThrow(/invalid value 'ftp:\/\/x' for --autoscaler-url/);
    expect(() => resolveUpOptions({ ...k8s, component: 'controller', autoscalerPort: '70000' }, {})).toThrow(/--autoscaler-port/);
    expect(() => resolveUpOptions({ ...k8s, component: 'broker', file: ['x.yaml'] }, {})).toThrow(/-f applies manifests through the controller/);
  });

  it('leader election is the controller\'s alone', () => {
    const flags = { ...k8s, component: 'activator', leaderElect: true };
    expect(() => resolveLeaderElection(flags, {}, resolveUpOptions(flags, {}))).toThrow(/--leader-elect only applies to the controller/);
    const ctl = { ...k8s, component: 'controller', leaderElect: true };
    expect(resolveLeaderElection(ctl, {}, resolveUpOptions(ctl, {}))?.name).toBe('wisp-controller');
  });
});
