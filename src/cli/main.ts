/** The `wisp` command line: commander wiring, exit codes (0 ok, 1 failure, 2 misuse). */
import { Command, CommanderError, Option } from 'commander';
import { foregroundClock } from '../clock.js';
import { ControlApiClient } from './client.js';
import { runApply } from './commands/apply.js';
import { runDelete } from './commands/delete.js';
import { runDescribe } from './commands/describe.js';
import { EVENT_SEND_TIMEOUT, runEventSend, type EventSendFlags } from './commands/event.js';
import { runGet } from './commands/get.js';
import { runLogs } from './commands/logs.js';
import { runUp, type UpDeps } from './commands/up.js';
import { CLI_DEFAULTS } from './defaults.js';
import { errorLines, exitCodeOf, UsageError } from './errors.js';
import type { OutputFormat } from './format/output.js';
import { writeLine, type CliIo, type CommandContext } from './io.js';
import { findToken } from './token.js';

export type { CliIo } from './io.js';

/** Test seams for commands that would otherwise start the platform or end the process. */
export interface MainDeps {
  up?: UpDeps;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function serverOf(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const server = flag ?? (env.WISP_SERVER !== undefined && env.WISP_SERVER !== '' ? env.WISP_SERVER : CLI_DEFAULTS.server);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new UsageError(`wisp: invalid value '${server}' for --server: expected a URL like ${CLI_DEFAULTS.server}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`wisp: invalid value '${server}' for --server: expected an http:// or https:// URL`);
  }
  return server.replace(/\/+$/, '');
}

/** `wisp event send`: the names from the program down to `cmd`. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function buildProgram(io: CliIo, deps: MainDeps, setExit: (code: number) => void): Command {
  const program = new Command('wisp');
  const configure = (cmd: Command): Command =>
    cmd
      .exitOverride()
      .showSuggestionAfterError(true)
      .configureHelp({ showGlobalOptions: true })
      .configureOutput({
        writeOut: (s) => io.stdout.write(s),
        writeErr: (s) => io.stderr.write(s),
        outputError: (s, write) => write(`${commandPath(cmd)}: ${s.replace(/^error: /, '')}`),
      });
  configure(program)
    .description('Wisp: a Knative-style serverless platform on your machine')
    .option('--server <url>', `Wisp control API (env WISP_SERVER, default ${CLI_DEFAULTS.server})`)
    .option('--token <token>', 'bearer token for the control API (env WISP_TOKEN, default: read from <state-dir>/token)')
    .option('--state-dir <dir>', `state dir of wisp up: where it keeps its store and token (env WISP_STATE_DIR, default ${CLI_DEFAULTS.stateDir})`);

  const globals = (): { server?: string; token?: string; stateDir?: string } => program.opts<{ server?: string; token?: string; stateDir?: string }>();
  const context = (): CommandContext => {
    const { server: serverFlag, token, stateDir } = globals();
    const server = serverOf(serverFlag, io.env);
    const auth = findToken({ flag: token, stateDirFlag: stateDir, env: io.env, cwd: process.cwd() });
    return {
      io,
      clock: io.clock ?? foregroundClock,
      client: new ControlApiClient({ server, auth }),
      out: (text) => writeLine(io.stdout, text),
      err: (text) => writeLine(io.stderr, text),
    };
  };
  const sub = (name: string): Command => configure(program.command(name));

  sub('up')
    .description('run the platform in the foreground (Ctrl-C drains and stops)')
    .option('-f, --file <path>', 'manifest file or folder to apply at start-up (repeatable)', collect)
    .option('--host <host>', 'interface the service and broker ingresses bind (env WISP_HOST, default 127.0.0.1)')
    .option('--api-host <host>', 'interface the control API binds (env WISP_API_HOST, default 127.0.0.1, whatever --host says)')
    .option('--api-tls-cert <file>', 'PEM certificate (chain): the control API serves https (env WISP_API_TLS_CERT; needs --api-tls-key)')
    .option('--api-tls-key <file>', 'PEM private key of --api-tls-cert (env WISP_API_TLS_KEY)')
    .option('--ingress-port <n>', 'service ingress port (env WISP_INGRESS_PORT, default 8080)')
    .option('--broker-port <n>', 'broker ingress port (env WISP_BROKER_PORT, default 8081)')
    .option('--api-port <n>', 'control API port (env WISP_API_PORT, default 8090)')
    .option('--broker-class <class>', 'default broker class: Memory, Redis or Kafka')
    .option('--log-level <level>', 'debug, info, warn, error or silent (env WISP_LOG_LEVEL)')
    .option('--runtime <mode>', 'embedded (local processes, default) or kubernetes (the cluster of the kubeconfig) (env WISP_RUNTIME)')
    .option('--kubeconfig <path>', 'kubernetes runtime: kubeconfig file (env WISP_KUBECONFIG; default $KUBECONFIG, ~/.kube/config or in-cluster)')
    .option('--context <name>', 'kubernetes runtime: the kubeconfig context to use (default its current-context)')
    .option('--namespace-scope <ns>', 'kubernetes runtime: watch and run only this namespace (default all)')
    .option('--leader-elect', 'kubernetes runtime: run only while holding the Lease wisp-controller, a hot standby until then (env WISP_LEADER_ELECT=true)')
    .option('--leader-elect-namespace <ns>', 'namespace of the leader-election Lease (env WISP_LEADER_ELECT_NAMESPACE, default wisp-system)')
    .option('--component <name>', 'kubernetes runtime: all (default), or one of controller, activator, broker, each its own Deployment (env WISP_COMPONENT)')
    .option('--autoscaler-port <n>', 'component controller: the autoscaler stats endpoint activators report to (env WISP_AUTOSCALER_PORT, default 8082)')
    .option('--data-plane-processes <n>', 'embedded: processes running the activator and the broker ingress and dispatch on the same ports (env WISP_DATA_PLANE_PROCESSES, default 1)')
    .option('--autoscaler-url <url>', 'component activator: where to send stats (env WISP_AUTOSCALER_URL; default in the cluster http://wisp-autoscaler.<ns>.svc.cluster.local:8082)')
    .option('--serve-engine <engine>', 'none (default: the activator alone) or haproxy: haproxy owns the ingress port and serves warm revisions (env WISP_SERVE_ENGINE; embedded, component all; binary WISP_HAPROXY)')
    .action(async (flags: Record<string, string | string[] | boolean | undefined>) => {
      // --state-dir is a global option (the other commands read the token there), so commander hands it to the program.
      const stateDir = globals().stateDir;
      setExit(await runUp(io, { ...flags, ...(stateDir !== undefined && { stateDir }) }, deps.up));
    });

  sub('apply')
    .description('create or update resources from YAML files, folders or stdin (-f -)')
    .requiredOption('-f, --file <path>', 'file, folder or - for stdin (repeatable)', collect)
    .option('--wait', 'wait until every Service, Broker and Trigger is Ready')
    .option('--timeout <duration>', 'how long --wait waits (e.g. 60s, 2m)', '60s')
    .action(async (flags: { file: string[]; wait?: boolean; timeout: string }) => {
      setExit(await runApply(context(), flags));
    });

  sub('get')
    .description('list resources, or show one')
    .argument('<kind>', 'services|ksvc, revisions, routes, configmaps, brokers, triggers, pingsources, apiserversources, kafkasources, containersources, sinkbindings')
    .argument('[name]', 'one resource')
    .option('-n, --namespace <ns>', 'namespace', CLI_DEFAULTS.namespace)
    .option('-A, --all-namespaces', 'list across all namespaces')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table'))
    .action(async (kind: string, name: string | undefined, flags: { namespace: string; allNamespaces?: boolean; output: OutputFormat }) => {
      setExit(await runGet(context(), kind, name, flags));
    });

  sub('describe')
    .description('show one resource in detail')
    .argument('<kind>', 'resource type')
    .argument('<name>', 'resource name')
    .option('-n, --namespace <ns>', 'namespace', CLI_DEFAULTS.namespace)
    .action(async (kind: string, name: string, flags: { namespace: string }) => {
      setExit(await runDescribe(context(), kind, name, flags));
    });

  sub('delete')
    .description('delete resources named in files (-f) or by KIND NAME')
    .argument('[args...]', 'KIND NAME...')
    .option('-f, --file <path>', 'file, folder or - for stdin (repeatable)', collect)
    .option('-n, --namespace <ns>', 'namespace', CLI_DEFAULTS.namespace)
    .action(async (args: string[], flags: { file?: string[]; namespace: string }) => {
      setExit(await runDelete(context(), args, flags));
    });

  sub('logs')
    .description("print a Service's replica logs, or a ContainerSource's process logs (logs containersource NAME)")
    .argument('<service|kind>', 'service name, or the kind `containersource`')
    .argument('[name]', 'the ContainerSource, after the kind')
    .option('-n, --namespace <ns>', 'namespace', CLI_DEFAULTS.namespace)
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .action(async (first: string, name: string | undefined, flags: { namespace: string; follow?: boolean }) => {
      setExit(await runLogs(context(), name === undefined ? { name: first } : { kind: first, name }, flags));
    });

  const event = sub('event').description('work with CloudEvents');
  configure(event.command('send'))
    .description('send one CloudEvent to a Broker')
    .requiredOption('--broker <name>', 'Broker to send to')
    .option('-n, --namespace <ns>', 'namespace of the Broker', CLI_DEFAULTS.namespace)
    .requiredOption('--type <type>', 'the event type, e.g. dev.example.order.created')
    .requiredOption('--source <source>', 'the event source, e.g. /orders')
    .option('--id <id>', 'the event id (default: a random UUID)')
    .option('--data <json|@file>', 'the event data: JSON (application/json), other text (text/plain), or @file to read it')
    .option('--extension <name=value>', 'an extension attribute (repeatable)', collect)
    .addOption(new Option('--mode <mode>', 'HTTP content mode').choices(['binary', 'structured']).default('binary'))
    .option('--timeout <duration>', 'how long the broker may take to answer', EVENT_SEND_TIMEOUT)
    .action(async (flags: EventSendFlags) => {
      setExit(await runEventSend(context(), flags));
    });

  return program;
}

/** Runs `wisp` with `argv` (without node and script); resolves to the exit code. */
export async function main(
  argv: string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env },
  deps: MainDeps = {},
): Promise<number> {
  let exitCode = 0;
  const program = buildProgram(io, deps, (code) => (exitCode = code));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2;
    }
    for (const line of errorLines(err)) writeLine(io.stderr, line);
    return exitCodeOf(err);
  }
}
