// The published types show the public API only (issue 13): no class or interface exported from
// src/index.ts has a symbol-keyed member or a member marked @internal. The transports' and the session
// layer's calls are internal protocols (session/connector.ts, SessionInternals in session.ts)
// that never appear on the classes an application sees.
import assert from 'node:assert/strict';
import { dirname, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const INDEX = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/index.ts');

/** `Type.member` for every symbol-keyed or @internal member of every exported class or interface. */
function internalMembers(source: string, fileName = INDEX): string[] {
  const host = ts.createCompilerHost({});
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (resolve(name) === resolve(fileName) && source !== '' ? source : readFile(name));
  const program = ts.createProgram([fileName], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, noEmit: true, skipLibCheck: true }, host);
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(fileName)!)!;
  const found: string[] = [];
  for (let exported of checker.getExportsOfModule(module)) {
    if (exported.flags & ts.SymbolFlags.Alias) exported = checker.getAliasedSymbol(exported);
    const isClass = (exported.flags & ts.SymbolFlags.Class) !== 0;
    if (!isClass && !(exported.flags & ts.SymbolFlags.Interface)) continue;
    const instance = checker.getDeclaredTypeOfSymbol(exported);
    const statics = isClass ? checker.getPropertiesOfType(checker.getTypeOfSymbolAtLocation(exported, exported.valueDeclaration!)) : [];
    for (const member of [...checker.getPropertiesOfType(instance), ...statics]) {
      const name = member.getName();
      const symbolKeyed = name.startsWith('__@');
      const internal = member.getJsDocTags(checker).some((tag) => tag.name === 'internal');
      if (symbolKeyed || internal) found.push(`${exported.getName()}.${symbolKeyed ? name.replace(/^__@(\w+)@\d+$/, '[$1]') : name}`);
    }
  }
  return found;
}

test('no class or interface exported from src/index.ts has a symbol-keyed or @internal member', () => {
  assert.deepEqual(internalMembers(''), []);
});

test('the check finds such members', () => {
  const fixture = resolve(dirname(INDEX), '__public-types-fixture.ts');
  const source = [
    "const kHidden = Symbol.for('x');",
    'export class Leaky {',
    '  [kHidden](): void {}',
    '  /** @internal */',
    '  metrics = 1;',
    '  fine = 2;',
    '}',
    'export interface Shape {',
    '  /** @internal */',
    '  readonly gate: number;',
    '  readonly name: string;',
    '}',
  ].join('\n');
  assert.deepEqual(internalMembers(source, fixture).sort(), ['Leaky.[kHidden]', 'Leaky.metrics', 'Shape.gate']);
});
