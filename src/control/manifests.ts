/**
 * Manifests as `wisp apply -f`, `wisp delete -f` and `wisp up -f` read them: src/api's loader, plus what makes
 * `wisp get ... -o yaml|json | wisp apply -f -` a no-op — a `kind: List` (what `wisp get KIND -o yaml` prints) is
 * applied item by item, and a `wisp.dev/source-dir` annotation the input already carries is kept instead of being
 * replaced by the folder of the file (or the current directory for stdin).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseYamlText } from '../api/documents.js';
import { ManifestError } from '../api/errors.js';
import { parseManifests, type LoadedObject, type LoadOptions } from '../api/load.js';
import { SOURCE_DIR_ANNOTATION } from '../api/types.js';

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `{apiVersion: v1, kind: List, items: [...]}` as kubectl and `wisp get KIND -o yaml|json` write it. */
function isList(v: unknown): v is Record<string, unknown> {
  return isRecord(v) && v['kind'] === 'List' && (v['apiVersion'] === 'v1' || v['apiVersion'] === undefined);
}

/** The source-dir annotation a document already carries, if any. */
function carriedSourceDir(v: unknown): string | undefined {
  const meta = isRecord(v) ? v['metadata'] : undefined;
  const ann = isRecord(meta) ? meta['annotations'] : undefined;
  const dir = isRecord(ann) ? ann[SOURCE_DIR_ANNOTATION] : undefined;
  return typeof dir === 'string' && dir !== '' ? dir : undefined;
}

function keepSourceDir(loaded: LoadedObject, original: unknown): LoadedObject {
  const dir = carriedSourceDir(original);
  if (dir !== undefined) loaded.object.metadata.annotations = { ...loaded.object.metadata.annotations, [SOURCE_DIR_ANNOTATION]: dir };
  return loaded;
}

/** One object given as a value (a List item), checked by src/api's parser; `where` names it in errors and sources. */
function parseValue(value: unknown, where: string, file: string, baseDir: string): LoadedObject {
  const parsedAs = `${where}#0`;
  try {
    const [loaded] = parseManifests(JSON.stringify(value) ?? 'null', where, baseDir);
    if (!loaded) throw new ManifestError({ file, message: `${where}: empty item` });
    return keepSourceDir({ ...loaded, source: where }, value);
  } catch (err) {
    if (err instanceof ManifestError && err.message.startsWith(parsedAs)) {
      throw new ManifestError({ file, message: where + err.message.slice(parsedAs.length), cause: err });
    }
    throw err;
  }
}

/** Parses one manifest text: documents and List items, in order. */
export function parseApplyManifests(text: string, file: string, baseDir: string): LoadedObject[] {
  // Parsed within src/api's input limits (nesting, YAML aliases); syntax errors and limits are reported by
  // src/api's parser, with file, line and column.
  const parsed = parseYamlText(text);
  if (!parsed.ok) return parseManifests(text, file, baseDir);
  const values: unknown[] = parsed.value;
  if (!values.some(isList)) {
    return parseManifests(text, file, baseDir).map((loaded) => {
      const index = Number(/#(\d+)$/.exec(loaded.source)?.[1]);
      return keepSourceDir(loaded, values[index]);
    });
  }
  const out: LoadedObject[] = [];
  values.forEach((value, index) => {
    if (value === null || value === undefined) return;
    const where = `${file}#${index}`;
    if (!isList(value)) {
      out.push(parseValue(value, where, file, baseDir));
      return;
    }
    const items = value['items'];
    if (!Array.isArray(items)) throw new ManifestError({ file, message: `${where}: a List needs items: a list of objects` });
    items.forEach((item: unknown, i) => out.push(parseValue(item, `${where}.items[${i}]`, file, baseDir)));
  });
  return out;
}

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

/** Like src/api's `loadManifests` (files, folders recursively, `-` for stdin), with Lists expanded and carried source-dirs kept. */
export async function loadApplyManifests(paths: string[], opts: LoadOptions = {}): Promise<{ objects: LoadedObject[] }> {
  const cwd = opts.cwd ?? process.cwd();
  const objects: LoadedObject[] = [];
  for (const p of paths) {
    if (p === '-') {
      objects.push(...parseApplyManifests(opts.stdin ?? '', '-', resolve(cwd)));
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
      objects.push(...parseApplyManifests(await readFile(f, 'utf8'), shown, dirname(f)));
    }
  }
  return { objects };
}
