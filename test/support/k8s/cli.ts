/**
 * `npm run k8s`: a local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager v1.37.2) with the
 * test kubelet, for trying Wisp's Kubernetes mode by hand. Test infrastructure, not part of Wisp.
 * Builds the binaries on the first run, prints KUBECONFIG=<path> once the API answers, stops everything on Ctrl-C.
 * `--build-only` only builds (or finds) the binaries and prints where they are (CI runs it before the tests).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureK8sBinaries } from './binaries.js';
import { startControlPlane, type ControlPlane } from './control-plane.js';
import { startKubelet, type Kubelet } from './kubelet.js';

const USAGE =
  'usage: npm run k8s -- [--build-only] [--no-kubelet] [--keep]\n' +
  'Starts etcd + kube-apiserver + kube-controller-manager (Kubernetes 1.37.2, built from the Go module proxy on the first run)\n' +
  'and the test kubelet, on free 127.0.0.1 ports, until Ctrl-C.\n' +
  '  --build-only  build (or find) the binaries, print their paths, exit\n' +
  '  --no-kubelet  no test kubelet (Pods stay Pending)\n' +
  '  --keep        keep the temp dir (data, certificates, logs) after Ctrl-C\n' +
  'Env: WISP_CACHE_DIR (binary cache root, default ~/.cache/wisp), WISP_K8S_BIN_DIR (use binaries from there).';

/** The repository root, from src (test/support/k8s) or from the build (dist/test/support/k8s). */
function repoRoot(): string {
  for (const up of ['../../..', '../../../..']) {
    const dir = fileURLToPath(new URL(`${up}/`, import.meta.url));
    if (existsSync(`${dir}examples/quickstart/hello.js`)) return dir;
  }
  return process.cwd() + '/';
}

/**
 * What the test kubelet runs for images of the Knative docs and of Wisp's examples (it has no container runtime):
 * the quickstart's hello function, which answers `Hello $TARGET!` as Knative's helloworld samples do.
 */
function demoImages(): Record<string, { command: string[] }> {
  const hello = { command: [process.execPath, `${repoRoot()}examples/quickstart/hello.js`] };
  return {
    'ghcr.io/knative/helloworld-go': hello,
    'gcr.io/knative-samples/helloworld-go': hello,
    'ghcr.io/example/hello': hello,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'build-only': { type: 'boolean' },
      'no-kubelet': { type: 'boolean' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const log = (m: string): void => console.log(m);
  if (values['build-only']) {
    const started = Date.now();
    const bin = await ensureK8sBinaries({ log });
    console.log(`k8s: binaries in ${bin.dir} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return;
  }

  let cp: ControlPlane | undefined;
  let kubelet: Kubelet | undefined;
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the test kubelet and the control plane…`);
    (async () => {
      await kubelet?.stop();
      await cp?.stop();
    })().then(
      () => {
        console.log('Stopped.');
        process.exit(0);
      },
      (err: unknown) => {
        console.error(`stopping failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  cp = await startControlPlane({ log, ...(values.keep ? { keepDir: true } : {}) });
  if (stopping) return;
  if (!values['no-kubelet']) {
    kubelet = await startKubelet({ kubeconfigPath: cp.kubeconfigPath, nodeName: 'wisp-node', log, images: demoImages() });
    console.log(`test kubelet: node ${kubelet.nodeName}, ${kubelet.network.mode} Pod network ${kubelet.network.podCIDR}`);
    console.log(`  images it runs (no container runtime here): ${Object.keys(demoImages()).join(', ')} -> examples/quickstart/hello.js`);
    if (stopping) return;
  }
  console.log(`KUBECONFIG=${cp.kubeconfigPath}`);
  console.log(`  export KUBECONFIG=${cp.kubeconfigPath}; kubectl get ns`);
  console.log(`  (the matching kubectl: ${cp.binaries.kubectl}; logs in ${cp.logDir})`);
  console.log('Press Ctrl-C to stop.');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
