/**
 * Turns Kubernetes' OpenAPI v2 document (api/openapi-spec/swagger.json of the k8s.io/kubernetes module) and
 * CustomResourceDefinition YAML files into the strict JSON schemas kubeconform reads from a local folder:
 *
 *   <out>/<kind>[-<group prefix>]-<version>.json     e.g. deployment-apps-v1.json, service-v1.json
 *   <crds>/<group>/<kind>_<version>.json             e.g. keda.sh/scaledobject_v1alpha1.json
 *
 * which match the schema-location templates `{{ .ResourceKind }}{{ .KindSuffix }}.json` and
 * `{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`. Each Kubernetes file is standalone: it carries
 * the definitions it reaches under `definitions`. "Strict" means what kubeconform's own -strict schemas mean: every
 * object schema that lists properties gets `additionalProperties: false` unless it already says otherwise or keeps
 * unknown fields (x-kubernetes-preserve-unknown-fields), so a misspelt or misplaced field fails validation.
 *
 *   tsx scripts/k8s-schemas.ts --openapi swagger.json --out DIR [--crds DIR crd.yaml...]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

type Schema = Record<string, unknown>;

const isObject = (value: unknown): value is Schema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';

/**
 * Closes every object schema reachable through the keywords that hold sub-schemas, and rewrites the OpenAPI
 * spellings JSON Schema does not know: `format: int-or-string` and `x-kubernetes-int-or-string` become a oneOf of
 * string and integer, `nullable: true` adds "null" to the type.
 */
export function strictify(schema: Schema): Schema {
  const out: Schema = { ...schema };
  if (out.format === 'int-or-string' || (out['x-kubernetes-int-or-string'] === true && !out.anyOf && !out.oneOf)) {
    delete out.type;
    delete out.format;
    out.oneOf = [{ type: 'string' }, { type: 'integer' }];
  }
  if (out.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  if (isObject(out.properties)) {
    out.properties = Object.fromEntries(
      Object.entries(out.properties).map(([name, sub]) => [name, isObject(sub) ? strictify(sub) : sub]),
    );
    if (out.additionalProperties === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) {
      out.additionalProperties = false;
    }
  }
  if (isObject(out.additionalProperties)) out.additionalProperties = strictify(out.additionalProperties);
  if (isObject(out.items)) out.items = strictify(out.items);
  else if (Array.isArray(out.items)) out.items = out.items.map((s) => (isObject(s) ? strictify(s) : s));
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = out[key];
    if (Array.isArray(list)) out[key] = list.map((s) => (isObject(s) ? strictify(s) : s));
  }
  if (isObject(out.not)) out.not = strictify(out.not);
  return out;
}

/** Names of every `#/definitions/<name>` a schema refers to, directly. */
function refsOf(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) refsOf(item, found);
  } else if (isObject(value)) {
    const ref = value.$ref;
    if (typeof ref === 'string' && ref.startsWith('#/definitions/')) found.add(ref.slice('#/definitions/'.length));
    for (const item of Object.values(value)) refsOf(item, found);
  }
  return found;
}

interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** kubeconform's KindSuffix: `-<first label of the group>-<version>`, or `-<version>` for the core group. */
export function kindSuffix(group: string, version: string): string {
  return group ? `-${group.split('.')[0]?.toLowerCase()}-${version.toLowerCase()}` : `-${version.toLowerCase()}`;
}

export function writeKubernetesSchemas(swaggerFile: string, outDir: string): number {
  const swagger = JSON.parse(fs.readFileSync(swaggerFile, 'utf8')) as { definitions?: Record<string, Schema> };
  const raw = swagger.definitions ?? {};
  const definitions: Record<string, Schema> = {};
  for (const [name, schema] of Object.entries(raw)) {
    // Kubernetes accepts a Quantity as a YAML number as well as a string (`cpu: 1`, `memory: 1Gi`).
    definitions[name] =
      name === QUANTITY
        ? { description: schema.description, oneOf: [{ type: 'string' }, { type: 'number' }] }
        : strictify(schema);
  }
  fs.mkdirSync(outDir, { recursive: true });
  let written = 0;
  for (const [name, schema] of Object.entries(definitions)) {
    const gvks = (raw[name]?.['x-kubernetes-group-version-kind'] ?? []) as GroupVersionKind[];
    // Types that many kinds share (DeleteOptions, WatchEvent…) are no resource of their own.
    if (gvks.length !== 1) continue;
    const closure = new Set<string>();
    const pending = [...refsOf(schema)];
    while (pending.length > 0) {
      const next = pending.pop() as string;
      if (closure.has(next) || next === name) continue;
      const target = definitions[next];
      if (!target) throw new Error(`${name} refers to a missing definition ${next}`);
      closure.add(next);
      pending.push(...refsOf(target));
    }
    const [gvk] = gvks as [GroupVersionKind];
    const standalone: Schema = {
      ...schema,
      definitions: Object.fromEntries([...closure].sort().map((n) => [n, definitions[n]])),
    };
    if (refsOf(schema).has(name) || [...closure].some((n) => refsOf(definitions[n]).has(name))) {
      (standalone.definitions as Record<string, Schema>)[name] = schema;
    }
    const file = `${gvk.kind.toLowerCase()}${kindSuffix(gvk.group, gvk.version)}.json`;
    fs.writeFileSync(path.join(outDir, file), `${JSON.stringify(standalone)}\n`);
    written++;
  }
  return written;
}

interface CustomResourceDefinition {
  kind?: string;
  spec?: {
    group?: string;
    names?: { kind?: string };
    versions?: { name: string; schema?: { openAPIV3Schema?: Schema } }[];
  };
}

export function writeCrdSchemas(files: string[], outDir: string): string[] {
  const written: string[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map(String).join('; ')}`);
      const crd = doc.toJS() as CustomResourceDefinition | null;
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      const group = crd.spec?.group;
      const kind = crd.spec?.names?.kind;
      if (!group || !kind) throw new Error(`${file}: a CRD without spec.group or spec.names.kind`);
      for (const version of crd.spec?.versions ?? []) {
        const schema = version.schema?.openAPIV3Schema;
        if (!schema) continue;
        const dir = path.join(outDir, group);
        fs.mkdirSync(dir, { recursive: true });
        const target = path.join(dir, `${kind.toLowerCase()}_${version.name.toLowerCase()}.json`);
        fs.writeFileSync(target, `${JSON.stringify(strictify(schema))}\n`);
        written.push(path.relative(outDir, target));
      }
    }
  }
  return written;
}

function main(argv: string[]) {
  let openapi: string | undefined;
  let out: string | undefined;
  let crdDir: string | undefined;
  const crdFiles: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--openapi') openapi = argv[++i];
    else if (arg === '--out') out = argv[++i];
    else if (arg === '--crds') crdDir = argv[++i];
    else if (arg !== undefined && crdDir !== undefined) crdFiles.push(arg);
    else throw new Error(`unexpected argument ${arg}`);
  }
  if (openapi && out) {
    const count = writeKubernetesSchemas(openapi, out);
    process.stderr.write(`[k8s-schemas] ${count} Kubernetes schemas from ${openapi}\n`);
  }
  if (crdDir) {
    const written = writeCrdSchemas(crdFiles, crdDir);
    process.stderr.write(`[k8s-schemas] ${written.length} CRD schemas: ${written.join(', ')}\n`);
  }
  if (!(openapi && out) && !crdDir) {
    process.stderr.write(
      'usage: tsx scripts/k8s-schemas.ts --openapi swagger.json --out DIR [--crds DIR crd.yaml...]\n',
    );
    process.exit(2);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  main(process.argv.slice(2));
}
