/**
 * The folders' import rules (docs: README "Architecture"; issue 17), checked on the source with the
 * TypeScript parser: every `import` / `import type` / `export ... from`, `import x = require()`,
 * `require('...')`, dynamic `import('...')` and `typeof import('...')` of a .ts file under the checked
 * folders, multi-line or not; comments and strings that merely look like imports are not imports.
 *
 *   shared/              imports shared/ only (and packages)
 *   services/<name>/     shared/ and its own service folder; never infra/, tools/ or another service
 *   infra/               shared/ and infra/; never services/ or tools/
 *   tools/               anything above
 *
 * No checked folder imports test/, bench/ or examples/ (nor files at the repository root).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

export const LAYERS = ['shared', 'services', 'infra', 'tools'] as const;
export type Layer = (typeof LAYERS)[number];

export interface Crossing {
  /** Importing file, relative to the root, with '/' separators. */
  file: string;
  /** 1-based line of the import. */
  line: number;
  /** The specifier as written. */
  specifier: string;
  /** What it resolves to, relative to the root. */
  target: string;
  /** The rule it breaks. */
  rule: string;
}

export interface ImportSite {
  specifier: string;
  line: number;
}

/** Where a file sits: its layer and, under services/, its service. */
interface Place {
  layer: string;
  service?: string;
}

const placeOf = (relative: string): Place => {
  const [layer, service] = relative.split('/');
  return { layer, service: layer === 'services' ? service : undefined };
};

/** Every module specifier a TypeScript source names, with its line. */
export function importsOf(fileName: string, text: string): ImportSite[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const sites: ImportSite[] = [];
  const add = (node: ts.Node | undefined) => {
    if (!node || !ts.isStringLiteralLike(node)) return;
    sites.push({ specifier: node.text, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node.moduleReference.expression);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
    else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequireResolve =
        ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) && callee.expression.text === 'require' && callee.name.text === 'resolve';
      const isRequire = (ts.isIdentifier(callee) && callee.text === 'require') || isRequireResolve;
      if ((isImport || isRequire) && node.arguments.length > 0) add(node.arguments[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return sites;
}

/** Why `from` may not import `to` (both relative to the root), or undefined when it may. */
export function ruleBroken(from: string, to: string): string | undefined {
  const a = placeOf(from);
  const b = placeOf(to);
  if (!(LAYERS as readonly string[]).includes(b.layer)) {
    return `${a.layer}/ must not import ${b.layer.includes('.') ? 'files at the repository root' : `${b.layer}/`}`;
  }
  switch (a.layer) {
    case 'shared':
      return b.layer === 'shared' ? undefined : `shared/ must not import ${b.layer}/`;
    case 'services':
      if (b.layer === 'services') {
        return a.service === b.service ? undefined : `a service must not import another service (services/${a.service} -> services/${b.service})`;
      }
      return b.layer === 'shared' ? undefined : `services/ must not import ${b.layer}/`;
    case 'infra':
      return b.layer === 'shared' || b.layer === 'infra' ? undefined : `infra/ must not import ${b.layer}/`;
    default:
      return undefined; // tools/ may import any layer
  }
}

/** Every .ts file under `dir` (absolute), skipping node_modules. */
function tsFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') out.push(...tsFiles(full));
    } else if (/\.(c|m)?tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out.sort();
}

/**
 * Every import under `root`'s layer folders that breaks a rule. Only relative specifiers point into
 * the repository (no path aliases are configured); packages are not checked.
 */
export function findCrossings(root: string): Crossing[] {
  const crossings: Crossing[] = [];
  const rel = (file: string) => path.relative(root, file).split(path.sep).join('/');
  for (const layer of LAYERS) {
    for (const file of tsFiles(path.join(root, layer))) {
      for (const site of importsOf(file, fs.readFileSync(file, 'utf8'))) {
        if (!site.specifier.startsWith('.')) continue;
        const target = rel(path.resolve(path.dirname(file), site.specifier));
        const rule = target.startsWith('..') ? 'imports from outside the repository' : ruleBroken(rel(file), target);
        if (rule) crossings.push({ file: rel(file), line: site.line, specifier: site.specifier, target, rule });
      }
    }
  }
  return crossings;
}

export const describeCrossing = (c: Crossing) => `${c.file}:${c.line} -> ${c.target} (${c.rule})`;
