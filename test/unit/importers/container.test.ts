import { describe, expect, it } from 'vitest';
import type { KObject } from '../../../src/api/types.js';
import { validate } from '../../../src/api/validate.js';
import { tableFor } from '../../../src/cli/format/columns.js';
import { kindByName, type KindInfo } from '../../../src/api/kinds.js';
import { containerHealth, planContainerSource } from '../../../src/importers/container/index.js';
import { sinkEnv } from '../../../src/importers/sink-env.js';
import { planSpawn } from '../../../src/runtime/local/spawn-plan.js';
import type { RevisionWorkload } from '../../../src/runtime/types.js';

const SINK = { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' } };

function source(spec: Record<string, unknown>, annotations?: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: 'sources.knative.dev/v1',
    kind: 'ContainerSource',
    metadata: { name: 'heartbeat', namespace: 'default', ...(annotations ? { annotations } : {}) },
    spec,
  };
}

const heartbeat = { name: 'heartbeat', command: ['node', 'heartbeat.js'], workingDir: '.', env: [{ name: 'PERIOD_MS', value: '1000' }] };
const template = (...containers: Record<string, unknown>[]): Record<string, unknown> => ({ spec: { containers } });

function errorsOf(spec: Record<string, unknown>): string[] {
  return validate(source(spec)).errors.map((e) => `${e.field}: ${e.message}`);
}

describe('ContainerSource validation', () => {
  it('accepts the issue example and keeps it unchanged', () => {
    const obj = source({ template: template(heartbeat), sink: SINK, ceOverrides: { extensions: { origin: 'heartbeat' } } });
    const r = validate(obj);
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.object?.spec).toEqual(obj.spec);
  });

  it('wants exactly one container, naming spec.template.spec.containers', () => {
    expect(errorsOf({ template: template(), sink: SINK })).toEqual(['spec.template.spec.containers: missing field(s): want exactly one container']);
    expect(errorsOf({ template: { spec: {} }, sink: SINK })).toEqual(['spec.template.spec.containers: missing field(s): want exactly one container']);
    expect(errorsOf({ template: template(heartbeat, { ...heartbeat, name: 'two' }), sink: SINK })).toEqual([
      'spec.template.spec.containers: expected exactly one container, got 2',
    ]);
    expect(errorsOf({ sink: SINK })).toEqual(['spec.template: missing field(s)']);
  });

  it('accepts an image-only container (it cannot run locally: Deployed False at run time) but not an empty one', () => {
    expect(errorsOf({ template: template({ image: 'gcr.io/knative-releases/heartbeats' }), sink: SINK })).toEqual([]);
    expect(errorsOf({ template: template({ name: 'x' }), sink: SINK })).toEqual([
      'spec.template.spec.containers[0].command: missing field(s): set command (and args) to run the container as a local process',
    ]);
  });

  it('rejects bad ceOverrides, a missing or empty sink, env the platform sets, a bad grace period', () => {
    expect(errorsOf({ template: template(heartbeat), sink: SINK, ceOverrides: { extensions: { Origin: 'x', id: 'y' } } })).toEqual([
      'spec.ceOverrides.extensions[Origin]: invalid CloudEvents attribute name: want 1-20 lower-case letters or digits',
      'spec.ceOverrides.extensions[id]: cannot override the CloudEvents context attribute "id"',
    ]);
    expect(errorsOf({ template: template(heartbeat) })).toEqual(['spec.sink: missing field(s)']);
    expect(errorsOf({ template: template(heartbeat), sink: {} })[0]).toMatch(/^spec\.sink/);
    const env = [{ name: 'K_SINK', value: 'http://x' }, { name: '1BAD' }];
    expect(errorsOf({ template: template({ ...heartbeat, env }), sink: SINK })).toEqual([
      'spec.template.spec.containers[0].env[0].name: "K_SINK" is set by the platform from spec.sink',
      expect.stringMatching(/^spec\.template\.spec\.containers\[0\]\.env\[1\]\.name: invalid value "1BAD"/),
    ]);
    expect(errorsOf({ template: { spec: { containers: [heartbeat], terminationGracePeriodSeconds: -1 } }, sink: SINK })).toEqual([
      'spec.template.spec.terminationGracePeriodSeconds: expected 0 <= -1 <= 3600',
    ]);
    expect(errorsOf({ template: template({ ...heartbeat, command: 'node heartbeat.js' }), sink: SINK })[0]).toMatch(/^spec\.template\.spec\.containers\[0\]\.command/);
  });

  it('warns about fields it does not know', () => {
    const r = validate(source({ template: { spec: { containers: [heartbeat], hostNetwork: true } }, sink: SINK }));
    expect(r.errors).toEqual([]);
    expect(r.warnings.join('\n')).toContain('spec.template.spec.hostNetwork');
  });
});

describe('ContainerSource plan and env', () => {
  const obj = (spec: Record<string, unknown>, annotations?: Record<string, string>): KObject => source(spec, annotations) as unknown as KObject;

  it('injects K_SINK and K_CE_OVERRIDES as Knative does ({"extensions":{...}}, only with ceOverrides)', () => {
    expect(sinkEnv('http://127.0.0.1:8081/default/default', { extensions: { origin: 'heartbeat', team: 'a' } })).toEqual({
      K_SINK: 'http://127.0.0.1:8081/default/default',
      K_CE_OVERRIDES: '{"extensions":{"origin":"heartbeat","team":"a"}}',
    });
    expect(sinkEnv('http://s/', undefined)).toEqual({ K_SINK: 'http://s/' });
    expect(sinkEnv('http://s/', {})).toEqual({ K_SINK: 'http://s/', K_CE_OVERRIDES: '{}' });
  });

  it('plans the container with the applied file folder, the grace period and the env; the sink is part of the run spec', () => {
    const plan = planContainerSource(
      obj({ template: template(heartbeat), sink: SINK, ceOverrides: { extensions: { origin: 'heartbeat' } } }, { 'wisp.dev/source-dir': '/srv/examples/heartbeat' }),
      'http://sink/a',
      '/cwd',
    );
    expect(plan).toEqual({
      runSpec: {
        namespace: 'default',
        name: 'heartbeat',
        container: heartbeat,
        baseDir: '/srv/examples/heartbeat',
        graceSeconds: 30,
        env: { K_SINK: 'http://sink/a', K_CE_OVERRIDES: '{"extensions":{"origin":"heartbeat"}}' },
      },
    });
    const other = planContainerSource(obj({ template: { spec: { containers: [heartbeat], terminationGracePeriodSeconds: 2 } }, sink: SINK }), 'http://sink/b', '/cwd');
    expect(other).toMatchObject({ runSpec: { baseDir: '/cwd', graceSeconds: 2, env: { K_SINK: 'http://sink/b' } } });
    expect(JSON.stringify(plan)).not.toBe(JSON.stringify(other));
  });

  it('an image-only container cannot run locally: ImageNotRunnableLocally, with a message that says to add command', () => {
    const plan = planContainerSource(obj({ template: template({ name: 'hb', image: 'gcr.io/x/heartbeats' }), sink: SINK }), 'http://sink/', '/cwd');
    expect(plan).toEqual({ problem: { reason: 'ImageNotRunnableLocally', message: expect.stringContaining('add command') } });
    expect(planContainerSource(obj({ template: template({ image: 'x', args: ['--a'] }), sink: SINK }), 'http://sink/', '/cwd')).toMatchObject({
      problem: { reason: 'CommandRequired' },
    });
  });

  it('the process gets no $PORT or K_SERVICE; K_SINK and K_CE_OVERRIDES come after the container env; workingDir is relative to the file', () => {
    const plan = planContainerSource(obj({ template: template(heartbeat), sink: SINK, ceOverrides: { extensions: { origin: 'hb' } } }, { 'wisp.dev/source-dir': '/srv/hb' }), 'http://sink/', '/cwd');
    if (!('runSpec' in plan)) throw new Error('expected a run spec');
    const w: RevisionWorkload = {
      key: 'default/heartbeat#1',
      namespace: 'default',
      service: 'heartbeat-1',
      configuration: 'heartbeat',
      revision: 'heartbeat-1',
      container: { ...heartbeat, workingDir: 'sub', env: [...heartbeat.env, { name: 'K_SINK', value: 'mine' }] },
      baseDir: plan.runSpec.baseDir,
      timeoutSeconds: 30,
      listens: false,
      env: plan.runSpec.env,
    };
    const spawn = planSpawn(w, undefined, { PATH: '/bin', K_SERVICE: 'inherited-not-set-by-us' });
    expect(spawn.file).toBe('node');
    expect(spawn.args).toEqual(['heartbeat.js']);
    expect(spawn.cwd).toBe('/srv/hb/sub');
    expect(spawn.env).toEqual({
      PATH: '/bin',
      K_SERVICE: 'inherited-not-set-by-us',
      PERIOD_MS: '1000',
      K_SINK: 'http://sink/',
      K_CE_OVERRIDES: '{"extensions":{"origin":"hb"}}',
    });
    expect(spawn.env.PORT).toBeUndefined();
    // A workload that listens still gets Serving's variables.
    expect(planSpawn({ ...w, listens: true }, 4000, {}).env).toMatchObject({ PORT: '4000', K_SERVICE: 'heartbeat-1', K_SINK: 'http://sink/' });
  });
});

describe('ContainerSource health and table', () => {
  it('running once spawned and alive; the crash reason while crash-looping; pending (Starting) before the first spawn', () => {
    expect(containerHealth(undefined)).toEqual({ kind: 'pending', reason: 'Starting', message: 'The process is starting.' });
    expect(containerHealth({ desired: 1, ready: [], starting: 0, running: 1, restarts: 0 })).toEqual({ kind: 'running' });
    expect(containerHealth({ desired: 1, ready: [], starting: 1, running: 0, restarts: 2, failure: { reason: 'ExitCode3', message: 'boom' } })).toEqual({
      kind: 'not-running',
      reason: 'ExitCode3',
      message: 'boom (restarted 2 times, with back-off)',
    });
  });

  it('wisp get containersources shows SINK, READY and REASON', () => {
    const info = kindByName('containersources') as KindInfo;
    const obj = {
      ...(source({ template: template(heartbeat), sink: SINK }) as unknown as KObject),
      status: { sinkUri: 'http://127.0.0.1:8081/default/default', conditions: [{ type: 'Ready', status: 'False', reason: 'ExitCode3' }] },
    } as KObject;
    const t = tableFor(info, [obj], { now: 0, allNamespaces: false });
    expect(t.headers).toEqual(['NAME', 'SINK', 'READY', 'REASON', 'AGE']);
    expect(t.rows[0]?.slice(0, 4)).toEqual(['heartbeat', 'http://127.0.0.1:8081/default/default', 'False', 'ExitCode3']);
  });
});
