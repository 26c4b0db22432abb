import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildGraph, cycleThrough, cyclicComponents, importsOf } from '../../../scripts/check-cycles.ts';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'cycles-'));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('check-cycles', () => {
  it('finds a contract <-> implementation cycle made by a type-only import, and only that one', () => {
    const root = tree({
      'hw/contract.ts': "import { make } from './impl.ts';\nexport interface C { x: number }\nexport const c = make;\n",
      'hw/impl.ts': "import type { C } from './contract.ts';\nexport function make(): C { return { x: 1 }; }\n",
      'hw/user.ts': "import { c } from './contract.ts';\nimport { readFileSync } from 'node:fs';\nexport const u = [c, readFileSync];\n",
    });
    const graph = buildGraph(root, false);
    const components = cyclicComponents(graph);
    expect(components).toEqual([['hw/contract.ts', 'hw/impl.ts']]);
    expect(cycleThrough(graph, components[0])).toEqual(['hw/contract.ts', 'hw/impl.ts', 'hw/contract.ts']);
    // Followed by value imports only, the type-only edge is gone and so is the cycle.
    expect(cyclicComponents(buildGraph(root, true))).toEqual([]);
  });

  it('follows re-exports and folder index files, and skips node_modules and schemas/gen', () => {
    const root = tree({
      'a/index.ts': "export { b } from '../b/index.ts';\nexport const a = 1;\n",
      'b/index.ts': "export * from './b.ts';\n",
      'b/b.ts': "import { a } from '../a';\nexport const b = a;\n",
      'node_modules/x/index.ts': "import './y.ts';\n",
      'node_modules/x/y.ts': "import './index.ts';\n",
      'schemas/gen/p.ts': "import './q.ts';\n",
      'schemas/gen/q.ts': "import './p.ts';\n",
    });
    const graph = buildGraph(root, true);
    expect([...graph.keys()]).toEqual(['a/index.ts', 'b/b.ts', 'b/index.ts']);
    const [component] = cyclicComponents(graph);
    expect(component).toEqual(['a/index.ts', 'b/b.ts', 'b/index.ts']);
    expect(cycleThrough(graph, component)).toEqual(['a/index.ts', 'b/index.ts', 'b/b.ts', 'a/index.ts']);
  });

  it('tells type-only imports from value imports', () => {
    const text = [
      "import type { A } from './a.ts';",
      "import { type B, type C } from './b.ts';",
      "import { type D, e } from './d.ts';",
      "import './side-effect.ts';",
      "export type { F } from './f.ts';",
      "const lazy = () => import('./lazy.ts');",
    ].join('\n');
    expect(importsOf('x.ts', text, false)).toEqual(['./a.ts', './b.ts', './d.ts', './side-effect.ts', './f.ts']);
    expect(importsOf('x.ts', text, true)).toEqual(['./d.ts', './side-effect.ts']);
  });
});
