/** Typed errors of the `wisp` CLI. Each maps to an exit code: 2 for misuse, 1 for everything else. */

/** The Kubernetes `Status` object the control API answers errors with. */
export interface KStatus {
  kind?: 'Status';
  apiVersion?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: { field?: string; message?: string; reason?: string }[];
  };
}

export const CLI_ERROR_CODES = Object.freeze({
  usage: 'WISP_ERR_CLI_USAGE',
  api: 'WISP_ERR_CLI_API',
  unreachable: 'WISP_ERR_CLI_UNREACHABLE',
  unauthorized: 'WISP_ERR_CLI_UNAUTHORIZED',
  timeout: 'WISP_ERR_CLI_TIMEOUT',
  failed: 'WISP_ERR_CLI_FAILED',
} as const);

export type CliErrorCode = (typeof CLI_ERROR_CODES)[keyof typeof CLI_ERROR_CODES];

export class CliError extends Error {
  readonly code: CliErrorCode;
  /** The process exit code this error ends the command with. */
  readonly exitCode: number;
  readonly retriable: boolean;

  constructor(message: string, opts: { code?: CliErrorCode; exitCode?: number; retriable?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'CliError';
    this.code = opts.code ?? CLI_ERROR_CODES.failed;
    this.exitCode = opts.exitCode ?? 1;
    this.retriable = opts.retriable ?? false;
  }

  /** The lines printed on stderr for this error. */
  lines(): string[] {
    return [this.message];
  }
}

/** The command line was wrong: bad flag value, missing argument. Exit code 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, { code: CLI_ERROR_CODES.usage, exitCode: 2 });
    this.name = 'UsageError';
  }
}

/** The control API could not be reached (connection refused, unknown host). */
export class UnreachableError extends CliError {
  readonly server: string;
  constructor(server: string, cause?: unknown, detail?: string) {
    super(`wisp: cannot reach the Wisp control API at ${server}${detail ? ` (${detail})` : ' (is `wisp up` running?)'}`, {
      code: CLI_ERROR_CODES.unreachable,
      retriable: true,
      cause,
    });
    this.name = 'UnreachableError';
    this.server = server;
  }
}

/** The control API answered 401: no token was found, or the one sent was refused. One line saying where the CLI looked. */
export class UnauthorizedError extends CliError {
  readonly server: string;
  readonly status: KStatus;

  constructor(server: string, auth: { token: string | undefined; from: string }, status: KStatus) {
    const said = (status.message ?? 'Unauthorized').replace(/^Unauthorized:\s*/, '');
    super(
      auth.token === undefined
        ? `wisp: the Wisp control API at ${server} wants a token and none was found: looked at ${auth.from}; run wisp where \`wisp up\` runs, or pass --state-dir, WISP_TOKEN or --token`
        : `wisp: the Wisp control API at ${server} refused the token from ${auth.from} (${said}); pass the token in <state-dir>/token of that \`wisp up\` with --state-dir, WISP_TOKEN or --token`,
      { code: CLI_ERROR_CODES.unauthorized },
    );
    this.name = 'UnauthorizedError';
    this.server = server;
    this.status = status;
  }
}

/** The control API did not answer in time, or `--wait` ran out of time. */
export class TimeoutError extends CliError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: CLI_ERROR_CODES.timeout, retriable: true, cause });
    this.name = 'TimeoutError';
  }
}

const REASON_BY_CODE: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Gone',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** The control API answered with an error; carries its `Status`. */
export class ApiError extends CliError {
  /** HTTP status code of the answer. */
  readonly statusCode: number;
  readonly status: KStatus;

  constructor(statusCode: number, status: KStatus) {
    super(status.message ?? `the server answered ${statusCode}`, { code: CLI_ERROR_CODES.api, retriable: statusCode >= 500 });
    this.name = 'ApiError';
    this.statusCode = statusCode;
    this.status = status;
  }

  get reason(): string {
    return this.status.reason || REASON_BY_CODE[this.statusCode] || 'Unknown';
  }

  /** kubectl-style: `Error from server (Invalid): <message>`, one line per cause when there are several. */
  override lines(): string[] {
    const prefix = `Error from server (${this.reason}): `;
    const causes = (this.status.details?.causes ?? []).filter((c) => c.message !== undefined || c.field !== undefined);
    const causeText = (c: { field?: string; message?: string }): string =>
      [c.field, c.message].filter((s) => s !== undefined && s !== '').join(': ');
    if (causes.length > 1) return causes.map((c) => prefix + causeText(c));
    const only = causes[0];
    if (only && (this.status.message === undefined || (only.field !== undefined && !this.status.message.includes(only.field)))) {
      return [prefix + [this.status.message, causeText(only)].filter((s) => s !== undefined && s !== '').join(': ')];
    }
    return [prefix + this.message];
  }
}

/** The stderr lines for any thrown value. */
export function errorLines(err: unknown): string[] {
  if (err instanceof CliError) return err.lines();
  if (err instanceof Error) return [`wisp: ${err.message}`];
  return [`wisp: ${String(err)}`];
}

/** The exit code for any thrown value. */
export function exitCodeOf(err: unknown): number {
  return err instanceof CliError ? err.exitCode : 1;
}
