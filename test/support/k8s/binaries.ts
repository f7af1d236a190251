/**
 * kube-apiserver, kube-controller-manager, kubectl and etcd, built from the Go module proxy into a cache outside
 * the repo, once per machine (build-recipe.ts has the recipe). `WISP_K8S_BIN_DIR` set = use the binaries there.
 */
import { constants } from 'node:fs';
import { access, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { runCommand, type CommandResult, type Env } from '../kafka/tools.js';
import { acquireCacheLock, isCacheComplete } from '../cache-lock.js';
import {
  BINARY_NAMES,
  compareGoVersions,
  ETCD_MODULE,
  ETCD_VERSION,
  etcdBuildArgs,
  etcdBuildGoMod,
  goDirective,
  goEnv,
  k8sCacheDir,
  KUBE_MODULE,
  kubeBuildArgs,
  kubeBuildGoMod,
  kubeCommandPackages,
  KUBERNETES_VERSION,
  kubeLdflags,
  recipeStamp,
  toolsGo,
  type BinaryName,
} from './build-recipe.js';
import { K8sSupportError, USE_EXISTING_HINT } from './errors.js';

export { ETCD_VERSION, KUBERNETES_VERSION } from './build-recipe.js';

/** Absolute paths of the four binaries. */
export interface K8sBinaries {
  dir: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubectl: string;
  etcd: string;
}

export interface EnsureK8sBinariesOptions {
  log?: (m: string) => void;
  /** Environment for `go` (PATH, GOPATH, GOPROXY, GOCACHE), WISP_CACHE_DIR and WISP_K8S_BIN_DIR; defaults to process.env. */
  env?: Env;
  /** Bound for each `go` command (default 45 min: a cold build on 2 cores takes several minutes). */
  buildTimeoutMs?: number;
}

const DEFAULT_BUILD_TIMEOUT_MS = 45 * 60_000;
const LOCK_POLL_MS = 500;

function binariesIn(dir: string): K8sBinaries {
  return {
    dir,
    kubeApiserver: join(dir, 'kube-apiserver'),
    kubeControllerManager: join(dir, 'kube-controller-manager'),
    kubectl: join(dir, 'kubectl'),
    etcd: join(dir, 'etcd'),
  };
}

/**
 * Returns the binaries, building them first when the cache lacks them. Concurrent callers (several test runs,
 * `npm run k8s`) wait for one builder through a lock directory; the build goes to a staging directory that is
 * renamed into place, so a half-done build is never used.
 */
export async function ensureK8sBinaries(opts: EnsureK8sBinariesOptions = {}): Promise<K8sBinaries> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => {});
  const timeoutMs = opts.buildTimeoutMs ?? DEFAULT_BUILD_TIMEOUT_MS;

  const given = env['WISP_K8S_BIN_DIR']?.trim();
  if (given !== undefined && given !== '') return checkBinDir(given);

  const cache = k8sCacheDir(env, homedir());
  const bin = join(cache, 'bin');
  const marker = join(cache, 'complete');
  const stamp = recipeStamp(KUBERNETES_VERSION, ETCD_VERSION);
  if (await isCacheComplete(marker, stamp)) return binariesIn(bin);

  await mkdir(cache, { recursive: true });
  const release = await acquireCacheLock(join(cache, 'build.lock'), {
    staleMs: timeoutMs * 2 + 60_000,
    pollMs: LOCK_POLL_MS,
    doing: 'building the Kubernetes binaries',
    log: (m) => log(`k8s: ${m}`),
  });
  try {
    if (await isCacheComplete(marker, stamp)) return binariesIn(bin); // another run built them while we waited
    const staging = join(cache, `bin.staging-${process.pid}`);
    const work = join(cache, `work-${process.pid}`);
    await rm(staging, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
    try {
      await build({ env: goEnv(env), log, timeoutMs, staging, work });
      await rm(bin, { recursive: true, force: true });
      await rename(staging, bin);
      await writeFile(marker, `${stamp}\n`);
    } finally {
      await rm(staging, { recursive: true, force: true });
      await rm(work, { recursive: true, force: true });
    }
    return binariesIn(bin);
  } finally {
    await release();
  }
}

async function checkBinDir(dir: string): Promise<K8sBinaries> {
  const missing: string[] = [];
  for (const name of BINARY_NAMES) {
    try {
      await access(join(dir, name), constants.X_OK);
    } catch {
      missing.push(name);
    }
  }
  if (missing.length > 0) {
    throw new K8sSupportError(
      'WISP_ERR_K8S_BIN_DIR_INCOMPLETE',
      `WISP_K8S_BIN_DIR=${dir} lacks executable ${missing.join(', ')} (it must hold ${BINARY_NAMES.join(', ')}); unset it to build them from the Go module proxy`,
    );
  }
  return binariesIn(dir);
}

interface BuildContext {
  env: Env;
  log: (m: string) => void;
  timeoutMs: number;
  staging: string;
  work: string;
}

async function build(ctx: BuildContext): Promise<void> {
  const started = Date.now();
  const goVersion = await requireGo(ctx.env);
  ctx.log(`k8s: building Kubernetes ${KUBERNETES_VERSION} and etcd ${ETCD_VERSION} with ${goVersion} into ${ctx.staging} (first run only, takes minutes)`);
  await mkdir(ctx.staging, { recursive: true });

  // Kubernetes: its go.mod comes from the module proxy; ours is generated from it.
  const kubeDir = join(ctx.work, 'kubernetes');
  await mkdir(kubeDir, { recursive: true });
  const kube = await downloadModule(ctx, `${KUBE_MODULE}@${KUBERNETES_VERSION}`);
  const kubeGoMod = await readFile(kube.goMod, 'utf8');
  requireGoVersion(goVersion, goDirective(kubeGoMod), `${KUBE_MODULE}@${KUBERNETES_VERSION}`);
  await writeFile(join(kubeDir, 'go.mod'), kubeBuildGoMod(kubeGoMod, KUBERNETES_VERSION));
  await writeFile(join(kubeDir, 'tools.go'), toolsGo(kubeCommandPackages()));
  ctx.log('k8s: go mod tidy (Kubernetes)');
  await go(ctx, ['mod', 'tidy'], kubeDir);
  const t0 = Date.now();
  ctx.log('k8s: building kube-apiserver, kube-controller-manager, kubectl ... (first run only, takes minutes)');
  await go(ctx, kubeBuildArgs(ctx.staging, kubeLdflags(KUBERNETES_VERSION, kube.time)), kubeDir);
  ctx.log(`k8s: built kube-apiserver, kube-controller-manager, kubectl in ${seconds(Date.now() - t0)}`);

  const etcdDir = join(ctx.work, 'etcd');
  await mkdir(etcdDir, { recursive: true });
  const etcd = await downloadModule(ctx, `${ETCD_MODULE}@${ETCD_VERSION}`);
  const etcdGoMod = await readFile(etcd.goMod, 'utf8');
  requireGoVersion(goVersion, goDirective(etcdGoMod), `${ETCD_MODULE}@${ETCD_VERSION}`);
  await writeFile(join(etcdDir, 'go.mod'), etcdBuildGoMod(etcdGoMod, ETCD_VERSION));
  await writeFile(join(etcdDir, 'tools.go'), toolsGo([ETCD_MODULE]));
  ctx.log('k8s: go mod tidy (etcd)');
  await go(ctx, ['mod', 'tidy'], etcdDir);
  const t1 = Date.now();
  ctx.log('k8s: building etcd ...');
  await go(ctx, etcdBuildArgs(join(ctx.staging, 'etcd')), etcdDir);
  ctx.log(`k8s: built etcd in ${seconds(Date.now() - t1)}`);

  for (const name of BINARY_NAMES) {
    const s = await stat(join(ctx.staging, name)).catch(() => undefined);
    if (!s?.isFile()) throw new K8sSupportError('WISP_ERR_K8S_BUILD_FAILED', `the build finished but ${join(ctx.staging, name)} is missing`);
  }
  ctx.log(`k8s: binaries ready in ${seconds(Date.now() - started)} total`);
}

function seconds(ms: number): string {
  return ms >= 60_000 ? `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
}

async function go(ctx: BuildContext, args: string[], cwd: string): Promise<CommandResult> {
  const res = await runCommand('go', args, { env: ctx.env, timeoutMs: ctx.timeoutMs, cwd });
  if (res.code !== 0) {
    const how = res.code === null ? `killed by ${String(res.signal)}${res.signal === 'SIGKILL' ? ` after the ${ctx.timeoutMs} ms bound` : ''}` : `exit ${res.code}`;
    throw new K8sSupportError(
      'WISP_ERR_K8S_BUILD_FAILED',
      `Building the Kubernetes control plane failed: \`go ${args.join(' ')}\` in ${cwd} (${how}). Last output:\n${res.output || '<none>'}\n` +
        `(GOPROXY=${ctx.env['GOPROXY'] ?? '<go default>'}; ${USE_EXISTING_HINT})`,
    );
  }
  return res;
}

/** `go mod download -json MODULE@VERSION`: where the proxy's go.mod landed, and the release's commit time. */
async function downloadModule(ctx: BuildContext, spec: string): Promise<{ goMod: string; time: string }> {
  ctx.log(`k8s: go mod download ${spec}`);
  const res = await go(ctx, ['mod', 'download', '-json', spec], ctx.work);
  const parsed = parseDownloadJson(res.output, spec);
  const info = JSON.parse(await readFile(parsed.info, 'utf8')) as unknown;
  const time = typeof info === 'object' && info !== null && 'Time' in info && typeof info.Time === 'string' ? info.Time : '1970-01-01T00:00:00Z';
  return { goMod: parsed.goMod, time };
}

function parseDownloadJson(output: string, spec: string): { goMod: string; info: string } {
  const start = output.indexOf('{');
  const end = output.lastIndexOf('}');
  let value: unknown;
  try {
    value = JSON.parse(output.slice(start, end + 1));
  } catch (err) {
    throw new K8sSupportError('WISP_ERR_K8S_BUILD_FAILED', `\`go mod download -json ${spec}\` printed no JSON:\n${output}`, { cause: err });
  }
  if (typeof value !== 'object' || value === null) throw new K8sSupportError('WISP_ERR_K8S_BUILD_FAILED', `\`go mod download -json ${spec}\`: unexpected output ${output}`);
  const v = value as Record<string, unknown>;
  if (typeof v['Error'] === 'string') throw new K8sSupportError('WISP_ERR_K8S_BUILD_FAILED', `\`go mod download ${spec}\` failed: ${v['Error']}`);
  if (typeof v['GoMod'] !== 'string' || typeof v['Info'] !== 'string') {
    throw new K8sSupportError('WISP_ERR_K8S_BUILD_FAILED', `\`go mod download -json ${spec}\`: no GoMod/Info in ${output}`);
  }
  return { goMod: v['GoMod'], info: v['Info'] };
}

/** The local Go toolchain's version (`go1.26.8`), or a clear error when `go` is not installed. */
async function requireGo(env: Env): Promise<string> {
  let res: CommandResult;
  try {
    res = await runCommand('go', ['env', 'GOVERSION'], { env, timeoutMs: 60_000 });
  } catch (err) {
    if (err instanceof Error && 'code' in err && (err.code === 'ENOENT' || err.code === 'EACCES')) {
      throw new K8sSupportError(
        'WISP_ERR_K8S_GO_MISSING',
        `Cannot build the Kubernetes control plane: \`go\` was not found on PATH (${env['PATH'] ?? '<unset>'}) and ${k8sCacheDir(env, homedir())} holds no build. ` +
          `Install Go 1.26 or newer (Debian/Ubuntu: \`apt-get install golang-go\` when it is new enough; https://go.dev/dl otherwise), ${USE_EXISTING_HINT}.`,
        { cause: err },
      );
    }
    throw err;
  }
  const version = res.output.trim().split('\n').pop()?.trim() ?? '';
  if (res.code !== 0 || !version.startsWith('go')) {
    throw new K8sSupportError('WISP_ERR_K8S_GO_MISSING', `Cannot build the Kubernetes control plane: \`go env GOVERSION\` failed (exit ${String(res.code)}): ${res.output}`);
  }
  return version;
}

function requireGoVersion(have: string, need: string, what: string): void {
  if (compareGoVersions(have, need) < 0) {
    throw new K8sSupportError(
      'WISP_ERR_K8S_GO_TOO_OLD',
      `Cannot build ${what}: its go.mod needs Go ${need}, the local toolchain is ${have} (GOTOOLCHAIN=local: no toolchain is downloaded). Install Go ${need} or newer, ${USE_EXISTING_HINT}.`,
    );
  }
}

export type { BinaryName };
