/** Reads manifests from files, folders and stdin: multi-document YAML (or JSON) into resource objects. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { SERVING_DEFAULTS } from './defaults.js';
import { parseYamlText } from './documents.js';
import { ManifestError } from './errors.js';
import { kindOf } from './kinds.js';
import { INPUT_LIMITS, type InputLimits } from './limits.js';
import { SOURCE_DIR_ANNOTATION, type KObject } from './types.js';
import { supportedKindsText } from './supported.js';

export interface LoadedObject {
  object: KObject;
  /** `<file as given>#<document index>` (`-#0` for stdin). */
  source: string;
}

export interface LoadOptions {
  /** Text read from stdin, used for the path `-`. */
  stdin?: string;
  /** Folder stdin objects and relative paths resolve against; default `process.cwd()`. */
  cwd?: string;
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (MANIFEST_FILE.test(e.name)) out.push(p);
  }
  return out;
}

/**
 * Parses manifest text (multi-document YAML or JSON; `kind: List` documents item by item); `file` names it in errors
 * and sources, `baseDir` becomes the source-dir annotation of each object that does not carry one.
 */
export function parseManifests(text: string, file: string, baseDir: string, limits: InputLimits = INPUT_LIMITS): LoadedObject[] {
  const parsed = parseYamlText(text, limits);
  if (!parsed.ok) {
    const p = parsed.problem;
    const where = p.line !== undefined ? `${file}:${p.line}:${p.column ?? 1}` : `${file}#${p.index ?? 0}${p.field ? ` at ${p.field}` : ''}`;
    const reason = (p.message.split('\n')[0] ?? p.message).replace(/ at line \d+, column \d+:?$/, '');
    throw new ManifestError({ file, message: `${where}: ${reason}`, line: p.line, column: p.column, cause: p });
  }
  const out: LoadedObject[] = [];
  parsed.value.forEach((value, index) => {
    if (value === null || value === undefined) return; // an empty document, e.g. a trailing `---`
    const where = `${file}#${index}`;
    if (!isList(value)) {
      out.push(loadedObject(value, where, file, baseDir));
      return;
    }
    // `{apiVersion: v1, kind: List, items: [...]}`, as kubectl and `wisp get KIND -o yaml|json` write it: item by item.
    const items = value['items'];
    if (!Array.isArray(items)) throw new ManifestError({ file, message: `${where}: a List needs items: a list of objects` });
    items.forEach((item: unknown, i) => out.push(loadedObject(item, `${where}.items[${i}]`, file, baseDir)));
  });
  return out;
}

function isList(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return o['kind'] === 'List' && (o['apiVersion'] === 'v1' || o['apiVersion'] === undefined);
}

/**
 * One document (or List item) as a resource object. Its source-dir annotation becomes `baseDir` unless it already
 * carries one: an object that went through `wisp get -o yaml|json` keeps the folder it was first applied from, so
 * `wisp get ksvc hello -o yaml | wisp apply -f -` changes nothing.
 */
function loadedObject(value: unknown, where: string, file: string, baseDir: string): LoadedObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ManifestError({ file, message: `${where}: document is not an object (got ${Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value})` });
  }
  const obj = value as Record<string, unknown>;
  const missing: string[] = [];
  if (typeof obj['apiVersion'] !== 'string' || !obj['apiVersion']) missing.push('apiVersion');
  if (typeof obj['kind'] !== 'string' || !obj['kind']) missing.push('kind');
  const meta = obj['metadata'];
  const metaObj = typeof meta === 'object' && meta !== null && !Array.isArray(meta) ? (meta as Record<string, unknown>) : undefined;
  if (typeof metaObj?.['name'] !== 'string' || !metaObj['name']) missing.push('metadata.name');
  if (missing.length > 0) throw new ManifestError({ file, message: `${where}: missing ${missing.join(', ')}` });
  const apiVersion = obj['apiVersion'] as string;
  const kind = obj['kind'] as string;
  if (!kindOf(apiVersion, kind)) {
    throw new ManifestError({ file, message: `${where}: unknown kind "${kind}" in apiVersion "${apiVersion}"; supported kinds: ${supportedKindsText()}` });
  }
  const metadata = metaObj as Record<string, unknown>;
  if (typeof metadata['namespace'] !== 'string' || !metadata['namespace']) metadata['namespace'] = SERVING_DEFAULTS.defaultNamespace;
  const annotations = metadata['annotations'];
  const ann = typeof annotations === 'object' && annotations !== null && !Array.isArray(annotations) ? (annotations as Record<string, unknown>) : {};
  const carried = ann[SOURCE_DIR_ANNOTATION];
  if (typeof carried !== 'string' || carried === '') ann[SOURCE_DIR_ANNOTATION] = baseDir;
  metadata['annotations'] = ann;
  return { object: obj as unknown as KObject, source: where };
}

/** Loads every object from `paths`: files, folders (recursively, `*.yaml|*.yml|*.json`, sorted) or `-` for stdin. */
export async function loadManifests(paths: string[], opts: LoadOptions = {}): Promise<{ objects: LoadedObject[] }> {
  const cwd = opts.cwd ?? process.cwd();
  const objects: LoadedObject[] = [];
  for (const p of paths) {
    if (p === '-') {
      objects.push(...parseManifests(opts.stdin ?? '', '-', resolve(cwd)));
      continue;
    }
    const abs = resolve(cwd, p);
    let isDir: boolean;
    try {
      isDir = (await stat(abs)).isDirectory();
    } catch (err) {
      throw new ManifestError({ file: p, message: `${p}: cannot read: ${err instanceof Error ? err.message : String(err)}`, cause: err });
    }
    const files = isDir ? await filesUnder(abs) : [abs];
    if (isDir && files.length === 0) throw new ManifestError({ file: p, message: `${p}: no *.yaml, *.yml or *.json files in this folder` });
    for (const f of files) {
      const shown = isDir ? join(p, f.slice(abs.length + 1)) : p;
      const text = await readFile(f, 'utf8');
      objects.push(...parseManifests(text, shown, dirname(f)));
    }
  }
  return { objects };
}
