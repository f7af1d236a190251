/** Stable codes for everything that can go wrong while providing a real Kubernetes control plane to tests and users. */
export type K8sSupportErrorCode =
  | 'WISP_ERR_K8S_GO_MISSING'
  | 'WISP_ERR_K8S_GO_TOO_OLD'
  | 'WISP_ERR_K8S_BUILD_FAILED'
  | 'WISP_ERR_K8S_BIN_DIR_INCOMPLETE'
  | 'WISP_ERR_K8S_OPENSSL_FAILED'
  | 'WISP_ERR_K8S_EXITED'
  | 'WISP_ERR_K8S_START_TIMEOUT'
  | 'WISP_ERR_K8S_RUNNING'
  | 'WISP_ERR_K8S_STOPPED'
  | 'WISP_ERR_K8S_NOT_PROVIDED';

export class K8sSupportError extends Error {
  override readonly name = 'K8sSupportError';
  readonly code: K8sSupportErrorCode;

  constructor(code: K8sSupportErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
  }
}

/** Appended to "cannot build" messages: the user's ways out. */
export const USE_EXISTING_HINT =
  'or set WISP_K8S_BIN_DIR to a directory holding kube-apiserver, kube-controller-manager, kubectl and etcd, ' +
  'or point the tests at a cluster you already run with WISP_TEST_KUBECONFIG=<kubeconfig path>';
