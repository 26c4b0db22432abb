/**
 * Import-cycle check (run by `npm run lint`): reads every .ts file in the repository (not
 * node_modules, .cache, coverage or the generated schemas/gen), follows its relative static imports
 * and re-exports, and exits 1 listing every cycle.
 *
 * Type-only imports count: a contract that names its implementation's types is the seam this check
 * guards (an interface file and the file implementing it must not depend on each other, at run time
 * or not). `--values-only` follows only imports that survive compilation, for a look at load order.
 * Dynamic `import()` is not followed: it runs later, when both modules are loaded.
 *
 * Usage: tsx scripts/check-cycles.ts [--values-only] [root]
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SKIP_DIRS = new Set(['node_modules', '.cache', 'coverage', '.git']);
const SKIP_PATHS = ['schemas/gen'];

/** Relative paths of every .ts file under root, sorted. */
export function listTsFiles(root: string, dir = root): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const rel = relative(root, path);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name) && !SKIP_PATHS.includes(rel)) out.push(...listTsFiles(root, path));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      out.push(rel);
    }
  }
  return out.sort();
}

/** Whether an import or export declaration leaves anything at run time. */
function isTypeOnly(node: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isExportDeclaration(node)) {
    if (node.isTypeOnly) return true;
    const clause = node.exportClause;
    return !!clause && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly);
  }
  const clause = node.importClause;
  if (!clause) return false; // a side-effect import runs the module
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  return !!bindings && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
}

/** Module specifiers of a source text's static imports and re-exports. */
export function importsOf(fileName: string, text: string, valuesOnly: boolean): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const specifiers: string[] = [];
  for (const node of source.statements) {
    if (!ts.isImportDeclaration(node) && !ts.isExportDeclaration(node)) continue;
    if (!node.moduleSpecifier || !ts.isStringLiteral(node.moduleSpecifier)) continue;
    if (valuesOnly && isTypeOnly(node)) continue;
    specifiers.push(node.moduleSpecifier.text);
  }
  return specifiers;
}

/** The repository file a relative specifier names, or undefined for a package or a non-.ts target. */
function resolveSpecifier(root: string, from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(root, dirname(from), specifier);
  const candidates = [base, base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
  const found = candidates.find((c) => c.endsWith('.ts') && existsSync(c));
  return found ? relative(root, found) : undefined;
}

export type Graph = Map<string, string[]>;

export function buildGraph(root: string, valuesOnly: boolean): Graph {
  const graph: Graph = new Map();
  for (const file of listTsFiles(root)) {
    const targets = importsOf(file, readFileSync(join(root, file), 'utf8'), valuesOnly)
      .map((s) => resolveSpecifier(root, file, s))
      .filter((t): t is string => t !== undefined);
    graph.set(file, [...new Set(targets)].sort());
  }
  return graph;
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
export function cyclicComponents(graph: Graph): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return components.sort((a, b) => a[0].localeCompare(b[0]));
}

/** One concrete cycle through a component's first file (breadth-first, so the shortest), closing on itself. */
export function cycleThrough(graph: Graph, component: string[]): string[] {
  const members = new Set(component);
  const start = component[0];
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(previous.get(path[0])!);
        return [...path, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

function main(argv: string[]): number {
  const valuesOnly = argv.includes('--values-only');
  const rootArg = argv.find((a) => !a.startsWith('--'));
  const root = resolve(rootArg ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  const graph = buildGraph(root, valuesOnly);
  const components = cyclicComponents(graph);
  const kind = valuesOnly ? 'value imports' : 'imports (type-only included)';
  if (components.length === 0) {
    process.stdout.write(`check-cycles: no import cycles among ${graph.size} files (${kind})\n`);
    return 0;
  }
  const lines = [`check-cycles: ${components.length} import cycle(s) among ${graph.size} files (${kind}):`];
  for (const component of components) {
    lines.push(`- ${component.length} files: ${cycleThrough(graph, component).join(' -> ')}`);
    if (component.length > 2) lines.push(`  all in the cycle: ${component.join(', ')}`);
  }
  process.stderr.write(`${lines.join('\n')}\n`);
  return 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
