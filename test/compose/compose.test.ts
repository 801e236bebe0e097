import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { loadConfig, ZConfig } from '@selfie/config';
import { MODEL_FILES } from '@selfie/face-engine';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';

const root = path.resolve(import.meta.dirname, '../..');
const read = (relative: string) => fs.readFileSync(path.join(root, relative), 'utf8');

// ---- the compose file --------------------------------------------------------------------------------------

interface Healthcheck {
  test?: string | string[];
  disable?: boolean;
}
interface DependsOnEntry {
  condition?: string;
}
interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string; target?: string };
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, DependsOnEntry>;
  healthcheck?: Healthcheck;
  volumes?: (string | { type?: string; source?: string })[];
  ports?: (string | number | { host_ip?: string; published?: string | number; target?: number })[];
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const composeDoc = parseDocument(read('docker-compose.yml'), { merge: true });
const compose = composeDoc.toJS({ maxAliasCount: 1000 }) as ComposeFile;
const services = compose.services ?? {};
const serviceNames = Object.keys(services);

/** Services built from this repository; the rest run a published image whose environment is the image's own. */
const appServices = serviceNames.filter((name) => services[name]?.build !== undefined);
/** Published images that watch the stack (deploy/prometheus, deploy/grafana, traces in jaeger) rather than back it. */
const OBSERVABILITY = ['prometheus', 'grafana', 'jaeger'];
const backingServices = serviceNames.filter(
  (name) => services[name]?.build === undefined && !OBSERVABILITY.includes(name),
);

/**
 * Services allowed to run without a healthcheck, each with the reason. Empty: every service has one
 * (s3 uses versitygw's --health endpoint through busybox wget; workers their metrics server's /readyz).
 */
const NO_HEALTHCHECK: Record<string, string> = {};

/** Conditions that make a dependent wait for something real rather than for a container to be created. */
const WAITING_CONDITIONS = new Set(['service_healthy', 'service_completed_successfully']);

function dependsOn(service: ComposeService): [string, string | undefined][] {
  const deps = service.depends_on;
  if (deps === undefined) return [];
  if (Array.isArray(deps)) return deps.map((name) => [name, undefined]); // short form means service_started
  return Object.entries(deps).map(([name, entry]) => [name, entry?.condition]);
}

function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment;
  if (env === undefined) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((item) => {
        const at = item.indexOf('=');
        return at === -1 ? [item, ''] : [item.slice(0, at), item.slice(at + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** Compose interpolation as it resolves with nothing set in the shell or a .env file. */
function withDefaults(value: string): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?]([^}]*))?\}/g, (_m, _name, fallback) => fallback ?? '');
}

function commandOf(service: ComposeService): string[] {
  const cmd = service.command;
  if (cmd === undefined) return [];
  return Array.isArray(cmd) ? cmd : cmd.split(/\s+/).filter(Boolean);
}

function entrypointOf(service: ComposeService): string | undefined {
  return commandOf(service).find((arg) => /^services\/[^/]+\/src\/main\.ts$/.test(arg));
}

function namedVolumesOf(service: ComposeService): string[] {
  const names: string[] = [];
  for (const volume of service.volumes ?? []) {
    if (typeof volume === 'string') {
      const source = volume.split(':')[0] ?? '';
      if (volume.includes(':') && !/^[./~$]/.test(source)) names.push(source);
    } else if ((volume.type ?? 'volume') === 'volume' && volume.source) {
      names.push(volume.source);
    }
  }
  return names;
}

/** Host side of each published port: "127.0.0.1:6390" or "3000". */
function publishedPorts(service: ComposeService): { hostIp: string; published: string; target: string }[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'object') {
      return { hostIp: port.host_ip ?? '', published: String(port.published ?? ''), target: String(port.target) };
    }
    const parts = String(port).split(':');
    const target = parts.pop() ?? '';
    const published = parts.pop() ?? '';
    return { hostIp: parts.join(':'), published, target };
  });
}

// ---- the Dockerfile --------------------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions of a Dockerfile, with continuation lines joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full === '') continue;
    const match = /^(\S+)\s*(.*)$/s.exec(full);
    if (match) instructions.push({ keyword: (match[1] ?? '').toUpperCase(), args: match[2] ?? '' });
  }
  return instructions;
}

interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

function stagesOf(instructions: Instruction[]): { globalArgs: Map<string, string>; stages: Stage[] } {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [from = '', as, name] = instruction.args.replace(/--platform=\S+\s+/, '').split(/\s+/);
      stages.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword === 'ARG') {
        const [key = '', value = ''] = instruction.args.split('=');
        globalArgs.set(key.trim(), value.trim());
      }
    } else {
      stages[stages.length - 1]?.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

function argDefault(stage: Stage, name: string): string | undefined {
  for (const instruction of stage.instructions) {
    const match = new RegExp(`^${name}=(\\S+)$`).exec(instruction.args.trim());
    if (instruction.keyword === 'ARG' && match) return match[1];
  }
  return undefined;
}

/** `ENV A=1 B=2` and the legacy `ENV A 1`. */
function envOf(stage: Stage): Map<string, string> {
  const env = new Map<string, string>();
  for (const { keyword, args } of stage.instructions) {
    if (keyword !== 'ENV') continue;
    if (!args.includes('=')) {
      const [key = '', ...rest] = args.split(/\s+/);
      env.set(key, rest.join(' '));
      continue;
    }
    for (const match of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) {
      env.set(match[1] ?? '', (match[2] ?? '').replace(/^"|"$/g, ''));
    }
  }
  return env;
}

/** Sources of `COPY` instructions that read from the build context (not `--from` another stage). */
function contextCopySources(stage: Stage): string[] {
  const sources: string[] = [];
  for (const { keyword, args } of stage.instructions) {
    if (keyword !== 'COPY' && keyword !== 'ADD') continue;
    const words = args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/);
    if (words.some((w) => w.startsWith('--from='))) continue;
    const paths = words.filter((w) => !w.startsWith('--'));
    sources.push(...paths.slice(0, -1));
  }
  return sources;
}

/** Whether .dockerignore leaves `relative` out of the build context (Docker's rules, `**`, `*`, `?` and `!`). */
function dockerIgnored(patterns: string[], relative: string): boolean {
  const toRegex = (pattern: string) => {
    let source = '';
    for (let i = 0; i < pattern.length; i++) {
      const char = pattern[i] as string;
      if (char === '*' && pattern[i + 1] === '*') {
        const slash = pattern[i + 2] === '/';
        source += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else if (char === '*') source += '[^/]*';
      else if (char === '?') source += '[^/]';
      else source += char.replace(/[.+^${}()|[\]\\]/, '\\$&');
    }
    // A pattern that matches a directory leaves out everything under it.
    return new RegExp(`^${source}(?:/.*)?$`);
  };
  let ignored = false;
  const target = relative.replace(/^\.\//, '').replace(/\/$/, '');
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = path.posix.normalize((negate ? raw.slice(1) : raw).trim()).replace(/^\/|\/$/g, '');
    if (toRegex(pattern).test(target)) ignored = !negate;
  }
  return ignored;
}

const dockerfileText = read('docker/Dockerfile');
const { globalArgs, stages } = stagesOf(parseDockerfile(dockerfileText));
const finalStage = stages[stages.length - 1] as Stage;
const dockerignore = read('.dockerignore')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));
const rootManifest = JSON.parse(read('package.json')) as {
  packageManager?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
};

// ---- what the production install must contain -----------------------------------------------------------

interface Manifest {
  name: string;
  dir: string;
  exports?: string | Record<string, string | Record<string, string>>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const workspaceManifests: Manifest[] = ['packages', 'services'].flatMap((group) =>
  fs.existsSync(path.join(root, group))
    ? fs
        .readdirSync(path.join(root, group))
        .map((dir) => path.join(root, group, dir))
        .filter((dir) => fs.existsSync(path.join(dir, 'package.json')))
        .map((dir) => ({ ...(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest), dir }))
    : [],
);

function owningManifest(file: string): Manifest | undefined {
  return workspaceManifests
    .filter((m) => file.startsWith(m.dir + path.sep))
    .sort((a, b) => b.dir.length - a.dir.length)[0];
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

function resolveWorkspaceEntry(manifest: Manifest, specifier: string): string | undefined {
  const subpath = specifier === manifest.name ? '.' : `.${specifier.slice(manifest.name.length)}`;
  const exportsField = manifest.exports;
  let target: unknown;
  if (typeof exportsField === 'string') target = subpath === '.' ? exportsField : undefined;
  else if (exportsField) target = exportsField[subpath];
  if (target && typeof target === 'object') {
    const conditions = target as Record<string, string>;
    target = conditions.import ?? conditions.node ?? conditions.default;
  }
  return typeof target === 'string' ? path.join(manifest.dir, target) : undefined;
}

function resolveRelative(fromFile: string, specifier: string): string | undefined {
  const base = path.resolve(path.dirname(fromFile), specifier);
  const candidates = [
    base,
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.mjs$/, '.mts'),
    `${base}.ts`,
    path.join(base, 'index.ts'),
  ];
  return candidates.find((candidate) => fs.existsSync(candidate) && fs.statSync(candidate).isFile());
}

/** Static imports and re-exports that load at run time (`import type` / `export type` are erased by tsx). */
function runtimeSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const specifiers: string[] = [];
  const statement = /^\s*(import|export)\s+(type\s+)?([^;'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
  for (const match of code.matchAll(statement)) {
    const isTypeOnly = match[2] !== undefined;
    const hasFrom = match[3] !== undefined;
    if (isTypeOnly) continue;
    if (match[1] === 'export' && !hasFrom) continue;
    specifiers.push(match[4] ?? '');
  }
  return specifiers;
}

/**
 * Follows the static imports from an entrypoint through the workspace and lists every outside package that some
 * workspace package imports without declaring it in `dependencies` (in a `--prod` install it would not be there).
 */
function undeclaredImports(entry: string): { problems: string[]; visited: number } {
  const problems = new Set<string>();
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!/\.(ts|mts|js|mjs)$/.test(file)) continue;
    const owner = owningManifest(file);
    for (const specifier of runtimeSpecifiers(fs.readFileSync(file, 'utf8'))) {
      const where = `${path.relative(root, file)} imports ${specifier}`;
      if (specifier.startsWith('.')) {
        const resolved = resolveRelative(file, specifier);
        if (resolved) queue.push(resolved);
        else problems.add(`${where}: file not found`);
        continue;
      }
      if (specifier.startsWith('node:') || builtinModules.includes(packageName(specifier))) continue;
      const name = packageName(specifier);
      const declared =
        owner?.dependencies?.[name] ?? owner?.optionalDependencies?.[name] ?? owner?.peerDependencies?.[name];
      if (declared === undefined) {
        problems.add(`${where}, which ${owner?.name ?? '(no package)'} does not list in dependencies`);
      }
      const workspacePackage = workspaceManifests.find((m) => m.name === name);
      if (workspacePackage) {
        const resolved = resolveWorkspaceEntry(workspacePackage, specifier);
        if (resolved && fs.existsSync(resolved)) queue.push(resolved);
        else problems.add(`${where}: no export for it in ${name}'s package.json`);
      }
    }
  }
  return { problems: [...problems].sort(), visited: seen.size };
}

// ---- tests ---------------------------------------------------------------------------------------------------

describe('docker-compose.yml', () => {
  it('parses as YAML without errors or warnings, anchors and merge keys included', () => {
    expect(composeDoc.errors.map(String)).toEqual([]);
    expect(composeDoc.warnings.map(String)).toEqual([]);
    expect(serviceNames.length).toBeGreaterThan(0);
  });

  it('runs the backing services and the app services it should', () => {
    expect(backingServices.sort()).toEqual(['mongo', 'redis', 's3']);
    expect(appServices).toContain('gateway');
    expect(
      serviceNames.filter((name) => !appServices.includes(name) && !backingServices.includes(name)).sort(),
    ).toEqual([...OBSERVABILITY].sort());
  });

  it.each(serviceNames)('%s: is built from docker/ or runs a pinned image', (name) => {
    const service = services[name] as ComposeService;
    if (service.build !== undefined) {
      const build = typeof service.build === 'string' ? { context: service.build } : service.build;
      expect(build.context ?? '.', 'the build context is the repository root').toBe('.');
      const dockerfile = path.posix.normalize(build.dockerfile ?? 'Dockerfile');
      expect(dockerfile.startsWith('docker/'), `${dockerfile} lives in docker/`).toBe(true);
      expect(fs.existsSync(path.join(root, dockerfile)), `${dockerfile} exists`).toBe(true);
      if (build.target !== undefined) {
        expect(stages.map((s) => s.name)).toContain(build.target);
      }
      return;
    }
    const image = service.image ?? '';
    expect(image, 'a service without build needs an image').not.toBe('');
    expect(image, 'the MinIO server images are gone from the registries').not.toMatch(/(^|\/)minio\/minio([:@]|$)/);
    if (image.includes('@sha256:')) return; // a digest pins harder than a tag
    const lastSlash = image.lastIndexOf('/');
    const colon = image.lastIndexOf(':');
    expect(colon > lastSlash, `${image} names a tag`).toBe(true);
    const tag = image.slice(colon + 1);
    expect(tag).not.toBe('latest');
    expect(tag, `${image} pins at least a major.minor version`).toMatch(/\d+\.\d+/);
  });

  it('gives every service a healthcheck, except the documented exceptions', () => {
    const without = serviceNames.filter((name) => {
      const check = services[name]?.healthcheck;
      return check === undefined || check.disable === true || check.test === undefined;
    });
    expect(without.sort()).toEqual(Object.keys(NO_HEALTHCHECK).sort());
    for (const name of serviceNames) {
      const test = services[name]?.healthcheck?.test;
      if (Array.isArray(test)) expect(['CMD', 'CMD-SHELL'], `${name} healthcheck test`).toContain(test[0]);
    }
  });

  it('makes every dependency wait for a healthy (or completed) service that exists', () => {
    for (const name of serviceNames) {
      for (const [dependency, condition] of dependsOn(services[name] as ComposeService)) {
        expect(serviceNames, `${name} depends on ${dependency}`).toContain(dependency);
        expect(WAITING_CONDITIONS.has(condition ?? 'service_started'), `${name} -> ${dependency}: ${condition}`).toBe(
          true,
        );
        if (condition === 'service_healthy') {
          expect(services[dependency]?.healthcheck?.test, `${dependency} has a healthcheck to wait for`).toBeDefined();
        }
      }
    }
  });

  it('has no dependency cycle (a start order exists)', () => {
    const remaining = new Map(
      serviceNames.map((name) => [name, new Set(dependsOn(services[name] as ComposeService).map(([d]) => d))]),
    );
    const order: string[] = [];
    while (remaining.size > 0) {
      const ready = [...remaining].filter(([, deps]) => [...deps].every((d) => !remaining.has(d))).map(([n]) => n);
      expect(ready, `cycle among ${[...remaining.keys()].join(', ')}`).not.toEqual([]);
      for (const name of ready) {
        remaining.delete(name);
        order.push(name);
      }
    }
    expect(order.slice(0, 3).sort()).toEqual(['mongo', 'redis', 's3']);
  });

  it.each(appServices)('%s: configures itself only with variables that ZConfig defines, with valid values', (name) => {
    const env = environmentOf(services[name] as ComposeService);
    const known = new Set(Object.keys(ZConfig.shape));
    expect(Object.keys(env).filter((key) => !known.has(key))).toEqual([]);
    const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, withDefaults(v)]));
    const config = loadConfig(resolved);
    expect(config.NODE_ENV).toBe('production');
    expect(new URL(config.MONGODB_URI).hostname).toBe('mongo');
    expect(new URL(config.REDIS_URL).hostname).toBe('redis');
    expect(new URL(config.S3_ENDPOINT).hostname).toBe('s3');
  });

  it('gives the gateway an address reachable from outside its container, on the published port', () => {
    const env = environmentOf(services.gateway as ComposeService);
    expect(env.HOST).toBe('0.0.0.0');
    const port = withDefaults(env.PORT ?? '3000');
    expect(publishedPorts(services.gateway as ComposeService).map((p) => p.target)).toContain(port);
    expect(JSON.stringify(services.gateway?.healthcheck?.test)).toContain(`127.0.0.1:${port}/readyz`);
  });

  it('uses the same S3 credentials in the S3 server and in the services', () => {
    const server = environmentOf(services.s3 as ComposeService);
    for (const name of appServices) {
      const env = environmentOf(services[name] as ComposeService);
      expect(env.S3_ACCESS_KEY, name).toBe(server.ROOT_ACCESS_KEY);
      expect(env.S3_SECRET_KEY, name).toBe(server.ROOT_SECRET_KEY);
    }
  });

  it('declares every named volume it mounts, and mounts every one it declares', () => {
    const declared = Object.keys(compose.volumes ?? {}).sort();
    const used = [...new Set(serviceNames.flatMap((name) => namedVolumesOf(services[name] as ComposeService)))].sort();
    expect(used).toEqual(declared);
    for (const name of backingServices) {
      expect(namedVolumesOf(services[name] as ComposeService).length, `${name} keeps its data in a volume`).toBe(1);
    }
  });

  it('publishes the backing services on the loopback ports scripts/backing.sh uses', () => {
    const script = read('scripts/backing.sh');
    const defaultPort = (name: string) => new RegExp(`SELFIE_${name}_PORT:-(\\d+)`).exec(script)?.[1];
    const expected: Record<string, { port: string | undefined; target: string }> = {
      redis: { port: defaultPort('REDIS'), target: '6379' },
      mongo: { port: defaultPort('MONGO'), target: '27017' },
      s3: { port: defaultPort('S3'), target: '7070' },
    };
    for (const [name, { port, target }] of Object.entries(expected)) {
      expect(port, `scripts/backing.sh sets a default port for ${name}`).toBeDefined();
      expect(publishedPorts(services[name] as ComposeService), name).toContainEqual({
        hostIp: '127.0.0.1',
        published: port,
        target,
      });
    }
    expect(script).toMatch(/compose up -d --wait redis mongo s3/);
    const accessKey = /SELFIE_S3_ACCESS_KEY:-([^}]+)\}/.exec(script)?.[1];
    const secretKey = /SELFIE_S3_SECRET_KEY:-([^}]+)\}/.exec(script)?.[1];
    const server = environmentOf(services.s3 as ComposeService);
    expect(withDefaults(server.ROOT_ACCESS_KEY ?? '')).toBe(accessKey);
    expect(withDefaults(server.ROOT_SECRET_KEY ?? '')).toBe(secretKey);
  });

  it('runs Redis the way BullMQ needs it', () => {
    const command = commandOf(services.redis as ComposeService).join(' ');
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(command).toContain('--appendonly yes');
  });
});

describe('services and entrypoints', () => {
  const serviceDirs = fs.existsSync(path.join(root, 'services'))
    ? fs
        .readdirSync(path.join(root, 'services'))
        .filter((d) => fs.statSync(path.join(root, 'services', d)).isDirectory())
    : [];

  it.each(appServices)('%s: starts an entrypoint services/<name>/src/main.ts that exists', (name) => {
    const entry = entrypointOf(services[name] as ComposeService);
    expect(entry, `${name} command names services/<dir>/src/main.ts`).toBeDefined();
    expect(fs.existsSync(path.join(root, entry as string)), `${entry} exists`).toBe(true);
  });

  it('has a compose service for every directory under services/ except all-in-one', () => {
    const started = new Set(appServices.map((name) => entrypointOf(services[name] as ComposeService)?.split('/')[1]));
    const missing = serviceDirs.filter((dir) => dir !== 'all-in-one' && !started.has(dir));
    expect(missing).toEqual([]);
  });

  it.each(appServices)('%s: imports only packages that a production install provides', (name) => {
    const entry = entrypointOf(services[name] as ComposeService);
    const file = path.join(root, entry ?? '');
    expect(fs.existsSync(file), `${entry} exists`).toBe(true);
    const { problems, visited } = undeclaredImports(file);
    expect(problems).toEqual([]);
    expect(visited, 'the entrypoint imports the service code').toBeGreaterThan(1);
  });

  it("the image's default command imports only packages that a production install provides", () => {
    const cmd = JSON.parse(finalStage.instructions.find((i) => i.keyword === 'CMD')?.args ?? '[]') as string[];
    const file = path.join(root, cmd[0] ?? '');
    expect(fs.existsSync(file), `${cmd[0]} exists`).toBe(true);
    expect(undeclaredImports(file).problems).toEqual([]);
  });
});

describe('docker/Dockerfile', () => {
  it('builds from a pinned node 20 bookworm-slim image', () => {
    for (const stage of stages) {
      const from = stage.from.replace(/^\$\{?(\w+)\}?$/, (_m, arg: string) => globalArgs.get(arg) ?? `$${arg}`);
      const isStage = stages.some((s) => s.name === from);
      if (!isStage) expect(from).toMatch(/^node:20\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
    }
  });

  it('installs the pnpm version of packageManager and the frozen lockfile', () => {
    const pnpmVersion = stages.map((s) => argDefault(s, 'PNPM_VERSION')).find(Boolean);
    expect(`pnpm@${pnpmVersion}`).toBe(rootManifest.packageManager);
    expect(dockerfileText).toMatch(/pnpm fetch\b/);
    expect(dockerfileText).toMatch(/pnpm install\b[^\n]*--frozen-lockfile/);
  });

  it('runs the sources with tsx, which the production install brings', () => {
    // A --prod install leaves devDependencies out: tsx must be a production dependency of the root package.
    expect(rootManifest.dependencies?.tsx).toBeDefined();
    expect(finalStage.instructions.find((i) => i.keyword === 'ENTRYPOINT')?.args).toContain('tsx');
  });

  it('runs as a non-root user with NODE_ENV=production', () => {
    const users = finalStage.instructions.filter((i) => i.keyword === 'USER').map((i) => i.args.split(':')[0]);
    const user = users[users.length - 1];
    expect(user, 'the final stage sets USER').toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(envOf(finalStage).get('NODE_ENV')).toBe('production');
  });

  it('copies only files that exist and that .dockerignore lets into the context', () => {
    const sources = stages.flatMap(contextCopySources);
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(fs.existsSync(path.join(root, source)), `${source} exists`).toBe(true);
      expect(dockerIgnored(dockerignore, source), `${source} is not ignored`).toBe(false);
    }
    expect(dockerIgnored(dockerignore, 'packages/face-engine/models/minifasnet/LICENSE')).toBe(false);
    // every model the engine loads is in the image; the conversion references are not
    for (const model of Object.values(MODEL_FILES)) {
      expect(dockerIgnored(dockerignore, `packages/face-engine/models/${model}`), model).toBe(false);
    }
    expect(dockerIgnored(dockerignore, 'packages/face-engine/models/reference/retinaface/outputs.json')).toBe(true);
  });

  it('defaults to an entrypoint that exists (the all-in-one process)', () => {
    const cmd = JSON.parse(finalStage.instructions.find((i) => i.keyword === 'CMD')?.args ?? '[]') as string[];
    expect(cmd[0]).toMatch(/^services\/[^/]+\/src\/main\.ts$/);
    expect(fs.existsSync(path.join(root, cmd[0] ?? '')), `${cmd[0]} exists`).toBe(true);
  });
});

describe('.dockerignore', () => {
  it.each(['node_modules', 'packages/db/node_modules', '.git', '.tools', '.data', '.eval', '.bench'])(
    'keeps %s out of the build context',
    (entry) => {
      expect(dockerIgnored(dockerignore, entry)).toBe(true);
    },
  );
});

describe('worker healthchecks', () => {
  it('ask every app service but the gateway for /readyz on its metrics port', () => {
    const port = String(ZConfig.shape.METRICS_PORT.parse(undefined));
    for (const name of appServices.filter((n) => n !== 'gateway')) {
      const test = services[name]?.healthcheck?.test ?? [];
      expect([test].flat().join(' '), name).toContain(`http://127.0.0.1:${port}/readyz`);
    }
  });
});
