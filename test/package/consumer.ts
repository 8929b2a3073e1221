/**
 * A fresh project that depends on the packed tarball, as a user's would: `npm pack` into a
 * temporary directory outside the repository, the tarball unpacked into the project's
 * node_modules/koa-sockjs, and the dependencies and peer dependencies the *packed*
 * package.json declares (plus what a TypeScript user adds: @types/koa, @types/node) linked in
 * from this repository's node_modules. Nothing is downloaded, and it takes a few seconds; a
 * module the package needs but does not declare is not found, because the project is not
 * inside the repository.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
const REPO_MODULES = join(REPO, 'node_modules');
/** What a TypeScript user installs next to koa-sockjs and koa. */
const CONSUMER_EXTRAS = ['@types/koa', '@types/node'];

export interface Consumer {
  /** The project directory; write files here and run them. */
  readonly dir: string;
  /** node_modules/koa-sockjs of the project (the unpacked tarball). */
  readonly packageDir: string;
  /** Paths of the files in the tarball, relative to the package root. */
  readonly files: readonly string[];
  /** The tarball's package.json. */
  readonly manifest: PackageManifest;
  /** Writes a file (creating directories) relative to the project. */
  write(path: string, text: string): string;
  close(): void;
}

export interface PackageManifest {
  name: string;
  version: string;
  license?: string;
  homepage?: string;
  repository?: { type?: string; url?: string } | string;
  bugs?: { url?: string } | string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  [key: string]: unknown;
}

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listFiles(path, base) : [relative(base, path)];
  });
}

function link(modules: string, name: string): void {
  const source = join(REPO_MODULES, name);
  if (!existsSync(source)) throw new Error(`${name} is not installed in ${REPO_MODULES}: run npm ci`);
  const target = join(modules, name);
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(source, target, 'dir');
}

export function createConsumer(): Consumer {
  if (!existsSync(join(REPO, 'dist/esm/index.js')) || !existsSync(join(REPO, 'dist/cjs/index.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  }
  const dir = mkdtempSync(join(tmpdir(), 'koa-sockjs-consumer-'));
  try {
    // --ignore-scripts: `prepare` would rebuild dist/, which npm test has just built.
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    ) as Array<{ filename: string }>;
    const tarball = join(dir, packed[0]!.filename);
    execFileSync('tar', ['-xzf', tarball, '-C', dir]);
    const modules = join(dir, 'node_modules');
    const packageDir = join(modules, 'koa-sockjs');
    mkdirSync(modules);
    renameSync(join(dir, 'package'), packageDir);
    const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as PackageManifest;
    for (const name of new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {}), ...CONSUMER_EXTRAS])) {
      link(modules, name);
    }
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'consumer', private: true }, null, 2)}\n`);
    return {
      dir,
      packageDir,
      files: listFiles(packageDir).sort(),
      manifest,
      write(path, text) {
        const file = join(dir, path);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, text);
        return file;
      },
      close() {
        if (statSync(dir, { throwIfNoEntry: false })) rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
