/**
 * The pure parts of the test control plane (test infrastructure, not part of Wisp): how the Kubernetes and etcd
 * binaries are built from the Go module proxy, and the command lines the control plane is started with.
 */
import { describe, expect, it } from 'vitest';
import {
  compareGoVersions,
  directiveEntries,
  etcdBuildArgs,
  etcdBuildGoMod,
  goDirective,
  k8sCacheDir,
  kubeBuildArgs,
  kubeBuildGoMod,
  kubeLdflags,
  recipeStamp,
  stagingModules,
  stagingVersion,
  toolsGo,
} from '../support/k8s/build-recipe.js';
import { advertiseAddressFor, apiServerArgs, controllerManagerArgs, etcdArgs, isLoopback, servingSans, tokenCsv } from '../support/k8s/control-plane-config.js';

const KUBE_GO_MOD = `// This is a generated file. Do not edit directly.
module k8s.io/kubernetes

go 1.26.0

godebug default=go1.26

require (
	github.com/google/go-cmp v0.7.0
	k8s.io/api v0.0.0
	k8s.io/client-go v0.0.0 // indirect
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	k8s.io/sample-controller => ./staging/src/k8s.io/sample-controller
)
`;

describe('Kubernetes build recipe', () => {
  it('maps a Kubernetes release to its staging modules release', () => {
    expect(stagingVersion('v1.37.2')).toBe('v0.37.2');
    expect(stagingVersion('v1.38.0-rc.1')).toBe('v0.38.0-rc.1');
    expect(() => stagingVersion('1.37.2')).toThrow(/v1\.Y\.Z/);
    expect(() => stagingVersion('v2.0.0')).toThrow();
  });

  it('reads go.mod directives in line and block form, without comments', () => {
    expect(goDirective(KUBE_GO_MOD)).toBe('1.26.0');
    expect(directiveEntries(KUBE_GO_MOD, 'godebug')).toEqual(['default=go1.26']);
    expect(directiveEntries(KUBE_GO_MOD, 'require')).toEqual(['github.com/google/go-cmp v0.7.0', 'k8s.io/api v0.0.0', 'k8s.io/client-go v0.0.0']);
    expect(stagingModules(KUBE_GO_MOD)).toEqual(['k8s.io/api', 'k8s.io/client-go', 'k8s.io/sample-controller']);
    expect(() => stagingModules('module x\n\ngo 1.26\n')).toThrow(/staging/);
  });

  it('generates a go.mod requiring k8s.io/kubernetes with every staging module replaced by its v0 release', () => {
    const mod = kubeBuildGoMod(KUBE_GO_MOD, 'v1.37.2');
    expect(mod).toContain('module wisp.dev/kube-build\n');
    expect(mod).toContain('\ngo 1.26.0\n');
    expect(mod).toContain('godebug (\n\tdefault=go1.26\n)');
    expect(mod).toContain('require k8s.io/kubernetes v1.37.2\n');
    expect(directiveEntries(mod, 'replace')).toEqual([
      'k8s.io/api => k8s.io/api v0.37.2',
      'k8s.io/client-go => k8s.io/client-go v0.37.2',
      'k8s.io/sample-controller => k8s.io/sample-controller v0.37.2',
    ]);
    expect(etcdBuildGoMod('module go.etcd.io/etcd/server/v3\n\ngo 1.25.0\n', 'v3.7.0')).toContain('require go.etcd.io/etcd/server/v3 v3.7.0\n');
  });

  it('builds the three commands with the version variables set, and etcd from its server module', () => {
    const ld = kubeLdflags('v1.37.2', '2026-10-27T12:01:04Z');
    for (const pkg of ['k8s.io/client-go/pkg/version', 'k8s.io/component-base/version']) {
      expect(ld).toContain(`-X ${pkg}.gitVersion=v1.37.2`);
      expect(ld).toContain(`-X ${pkg}.gitMajor=1`);
      expect(ld).toContain(`-X ${pkg}.gitMinor=37`);
      expect(ld).toContain(`-X ${pkg}.buildDate=2026-10-27T12:01:04Z`);
    }
    const args = kubeBuildArgs('/out', ld);
    expect(args.slice(0, 2)).toEqual(['build', '-trimpath']);
    expect(args.slice(-4)).toEqual(['/out/', 'k8s.io/kubernetes/cmd/kube-apiserver', 'k8s.io/kubernetes/cmd/kube-controller-manager', 'k8s.io/kubernetes/cmd/kubectl']);
    expect(etcdBuildArgs('/out/etcd')).toEqual(['build', '-trimpath', '-ldflags', '-s -w', '-o', '/out/etcd', 'go.etcd.io/etcd/server/v3']);
    expect(toolsGo(['a/b'])).toBe('//go:build tools\n\npackage tools\n\nimport (\n\t_ "a/b"\n)\n');
  });

  it('caches under WISP_CACHE_DIR (default ~/.cache/wisp), keyed by the versions and the recipe', () => {
    expect(k8sCacheDir({}, '/home/u')).toBe('/home/u/.cache/wisp/k8s/v1.37.2-etcdv3.7.0');
    expect(k8sCacheDir({ WISP_CACHE_DIR: '/c' }, '/home/u')).toBe('/c/k8s/v1.37.2-etcdv3.7.0');
    expect(recipeStamp('v1.37.2', 'v3.7.0')).toBe(recipeStamp('v1.37.2', 'v3.7.0'));
    expect(recipeStamp('v1.37.2', 'v3.7.0')).not.toBe(recipeStamp('v1.37.3', 'v3.7.0'));
  });

  it('compares Go versions', () => {
    expect(compareGoVersions('go1.26.8', '1.26.0')).toBeGreaterThan(0);
    expect(compareGoVersions('go1.25.9', '1.26')).toBeLessThan(0);
    expect(compareGoVersions('go1.26', '1.26.0')).toBe(0);
  });
});

describe('control plane command lines', () => {
  it('kube-apiserver: RBAC + Node authorization, ServiceAccount token signing, the static token file', () => {
    const args = apiServerArgs({
      etcdUrl: 'http://127.0.0.1:1',
      bindAddress: '127.0.0.1',
      advertiseAddress: '127.0.0.1',
      securePort: 6443,
      certDir: '/d/certs',
      servingCert: '/d/apiserver.crt',
      servingKey: '/d/apiserver.key',
      clientCaFile: '/d/ca.crt',
      tokenAuthFile: '/d/tokens.csv',
      serviceAccountKey: '/d/sa.key',
      serviceAccountPub: '/d/sa.pub',
    });
    expect(args).toContain('--authorization-mode=Node,RBAC');
    expect(args).toContain('--service-account-key-file=/d/sa.pub');
    expect(args).toContain('--service-account-signing-key-file=/d/sa.key');
    expect(args).toContain('--service-account-issuer=https://kubernetes.default.svc.cluster.local');
    expect(args).toContain('--token-auth-file=/d/tokens.csv');
    expect(args).toContain('--secure-port=6443');
    // A loopback advertise address would make kube-apiserver exit ("may not be in the loopback range").
    expect(args).toContain('--endpoint-reconciler-type=none');
  });

  it('advertises the bind address, or for 0.0.0.0 the first external IPv4 address (with the lease endpoint reconciler)', () => {
    const ifaces = {
      lo: [{ family: 'IPv4', internal: true, address: '127.0.0.1' }],
      eth0: [
        { family: 'IPv6', internal: false, address: 'fe80::1' },
        { family: 'IPv4', internal: false, address: '10.1.2.3' },
      ],
    };
    expect(advertiseAddressFor('127.0.0.1', ifaces)).toBe('127.0.0.1');
    expect(advertiseAddressFor('0.0.0.0', ifaces)).toBe('10.1.2.3');
    expect(advertiseAddressFor('0.0.0.0', { lo: ifaces.lo })).toBe('127.0.0.1');
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('10.1.2.3')).toBe(false);
    expect(servingSans('0.0.0.0', '10.1.2.3')).toContain('IP:10.1.2.3');
  });

  it('kube-controller-manager: every on-by-default controller (1.37 has no cloud ones left), each with its own ServiceAccount', () => {
    const args = controllerManagerArgs({ kubeconfig: '/k', serviceAccountKey: '/sa.key', rootCaFile: '/ca.crt', caCert: '/ca.crt', caKey: '/ca.key' });
    expect(args).toContain('--controllers=*');
    expect(args).toContain('--leader-elect=false');
    expect(args).toContain('--use-service-account-credentials=true');
    expect(args).toContain('--service-account-private-key-file=/sa.key');
  });

  it('etcd on loopback, and the token file and serving names', () => {
    const args = etcdArgs({ dataDir: '/e', clientPort: 1, peerPort: 2, clusterToken: 't' });
    expect(args).toContain('--listen-client-urls=http://127.0.0.1:1');
    expect(args).toContain('--data-dir=/e');
    expect(tokenCsv([{ token: 'abc', user: 'wisp-admin', groups: ['system:masters', 'g2'] }])).toBe('abc,wisp-admin,wisp-admin,"system:masters,g2"\n');
    expect(() => tokenCsv([{ token: 'a,b', user: 'u' }])).toThrow();
    expect(servingSans('0.0.0.0')).toEqual(expect.arrayContaining(['IP:127.0.0.1', 'IP:10.96.0.1', 'DNS:kubernetes.default.svc']));
    expect(servingSans('0.0.0.0')).not.toContain('IP:0.0.0.0');
  });
});
