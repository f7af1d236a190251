import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { httpRequest } from '../../support/http.js';
import { Recorder } from '../../support/recorder.js';
import { waitFor } from '../../support/wait.js';
import { WispProcess } from '../../support/wisp.js';
import { yamlFile } from '../../e2e/helpers.js';

/** Events sent one by one after the restarted platform is up. */
const TAIL = 50;

export interface CrashOutcome {
  sent: number;
  accepted: Set<string>;
  /** Events sent before the kill (`killAfter` of them), and how many of those got a 202. */
  killAfter: number;
  acceptedBeforeKill: number;
  /** Events sent after the kill (while the platform restarted, and the tail sent once it is back) that got a 202. */
  acceptedAfterRestart: number;
  /** Deliveries per event id. */
  delivered: Map<string, number>;
  lost: string[];
  duplicates: number;
}

/** A Broker of `brokerClass` with one Trigger `<broker>-all` delivering everything to `subscriber` (a URL). */
export function brokerAndTriggerYaml(opts: { brokerClass: string; broker: string; subscriber: string; namespace?: string }): string {
  const ns = opts.namespace ?? 'default';
  return `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: ${opts.broker}
  namespace: ${ns}
  annotations:
    eventing.knative.dev/broker.class: ${opts.brokerClass}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ${opts.broker}-all
  namespace: ${ns}
spec:
  broker: ${opts.broker}
  subscriber:
    uri: ${opts.subscriber}
  delivery:
    retry: 20
    backoffDelay: PT0.05S
`;
}

/** brokerAndTriggerYaml applied with `wisp apply`, then waits until the Trigger is Ready. */
export async function applyBrokerAndTrigger(wisp: WispProcess, opts: { brokerClass: string; broker: string; subscriber: string }): Promise<void> {
  const yaml = brokerAndTriggerYaml(opts);
  const res = await wisp.cli(['apply', '-f', await yamlFile(yaml)]);
  expect(res.code, res.stderr).toBe(0);
  await waitFor(
    async () => {
      const r = await wisp.fetch(`/apis/eventing.knative.dev/v1/namespaces/default/triggers/${opts.broker}-all`);
      const t = (await r.json()) as { status?: { conditions?: { type: string; status: string }[] } };
      return t.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    },
    { timeoutMs: 60_000, what: `trigger ${opts.broker}-all Ready; wisp output:\n${wisp.output}` },
  );
}

/**
 * Posts `total` events at `ratePerSecond` to the broker, kills `wisp up` with SIGKILL after `killAfter` events,
 * starts it again on the same state dir, keeps posting, then waits for every event that got a 202 to arrive
 * (unless `expectAll` is false: the in-memory class loses them, and the outcome reports how many).
 */
export async function crashScenario(opts: {
  env: Record<string, string>;
  brokerClass: string;
  total?: number;
  ratePerSecond?: number;
  killAfter?: number;
  expectAll: boolean;
  deliveryTimeoutMs?: number;
  /** Namespace of the Broker (default `default`). */
  namespace?: string;
  /** Extra `wisp up` arguments, at the first start and the restart (e.g. `--runtime kubernetes ...`). */
  startArgs?: string[];
  /** How the Broker and its Trigger are applied (default: `wisp apply` through the control API). */
  apply?: (wisp: WispProcess, o: { brokerClass: string; broker: string; subscriber: string; namespace: string }) => Promise<void>;
}): Promise<CrashOutcome> {
  const total = opts.total ?? 2000;
  const rate = opts.ratePerSecond ?? 400;
  const killAfter = opts.killAfter ?? Math.floor(total / 2);
  const broker = `crash-${randomUUID().slice(0, 8)}`;
  const namespace = opts.namespace ?? 'default';
  const startArgs = opts.startArgs ?? [];
  const recorder = await new Recorder().start();
  const wisp = await WispProcess.create(opts.env);
  try {
    await wisp.start([], { args: startArgs });
    await (opts.apply ?? applyBrokerAndTrigger)(wisp, { brokerClass: opts.brokerClass, broker, subscriber: recorder.url, namespace });

    const accepted = new Set<string>();
    let restart: Promise<void> | undefined;
    const post = (i: number): Promise<void> => {
      const id = `${broker}-${i}`;
      return httpRequest({
        port: wisp.ports.broker,
        path: `/${namespace}/${broker}`,
        method: 'POST',
        headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/crash', 'ce-type': 'dev.wisp.crash', 'content-type': 'application/json' },
        body: `{"i":${i}}`,
        timeoutMs: 10_000,
      }).then(
        (res) => {
          if (res.status === 202) accepted.add(id);
        },
        () => undefined, // refused while the platform is down: not accepted, nothing promised
      );
    };
    const started = Date.now();
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (i === killAfter) {
        await wisp.stop('SIGKILL');
        restart = wisp.start([], { args: startArgs });
      }
      inFlight.push(post(i));
    }
    await Promise.all(inFlight);
    await restart;
    // A tail sent once the restarted platform is up, so it takes events after the crash however long its restart
    // took (on a loaded machine a restart can outlast the rest of the stream).
    for (let i = total; i < total + TAIL; i++) {
      const due = Date.now() + 1000 / rate;
      await post(i);
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }

    const delivered = (): Map<string, number> => {
      const m = new Map<string, number>();
      for (const r of recorder.requests) {
        const id = String(r.headers['ce-id']);
        m.set(id, (m.get(id) ?? 0) + 1);
      }
      return m;
    };
    if (opts.expectAll) {
      await waitFor(() => [...accepted].every((id) => delivered().has(id)), {
        timeoutMs: opts.deliveryTimeoutMs ?? 90_000,
        intervalMs: 250,
        what: `every accepted event delivered (${[...accepted].filter((id) => !delivered().has(id)).length} of ${accepted.size} missing)`,
      });
    } else {
      // Give the restarted platform time to deliver what it still has.
      const settle = Date.now() + 3_000;
      while (Date.now() < settle) await new Promise((r) => setTimeout(r, 250));
    }
    const got = delivered();
    const lost = [...accepted].filter((id) => !got.has(id));
    const duplicates = [...got.values()].reduce((n, c) => n + (c - 1), 0);
    const index = (id: string): number => Number(id.slice(id.lastIndexOf('-') + 1));
    const acceptedBeforeKill = [...accepted].filter((id) => index(id) < killAfter).length;
    return { sent: total + TAIL, accepted, killAfter, acceptedBeforeKill, acceptedAfterRestart: accepted.size - acceptedBeforeKill, delivered: got, lost, duplicates };
  } finally {
    await wisp.cleanup();
    await recorder.stop();
  }
}
