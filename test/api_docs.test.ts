// The API reference (npm run docs: TypeDoc over src/index.ts) is only as good as the doc comments: every function
// and class the package exports carries one, saying what it takes and returns.
import { describe, it, expect } from 'vitest';
import ts from 'typescript';
import { resolve } from 'node:path';

/** Exported functions and classes of src/index.ts (followed through re-exports) without a doc comment. */
function undocumented(): string[] {
  const entry = resolve(import.meta.dirname, '../src/index.ts');
  const program = ts.createProgram([entry], { allowImportingTsExtensions: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const missing: string[] = [];
  const visit = (symbols: ts.Symbol[], prefix: string) => {
    for (const exported of symbols) {
      const s = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const name = prefix + exported.name;
      if (s.flags & ts.SymbolFlags.Module) {
        visit(checker.getExportsOfModule(s), `${name}.`);
        continue;
      }
      const decl = s.valueDeclaration;
      if (!decl) continue;
      const isFunction = s.flags & ts.SymbolFlags.Function || (ts.isVariableDeclaration(decl) && decl.initializer && (ts.isArrowFunction(decl.initializer) || ts.isFunctionExpression(decl.initializer)));
      if (!isFunction && !(s.flags & ts.SymbolFlags.Class)) continue;
      if (s.getDocumentationComment(checker).length === 0) missing.push(name);
    }
  };
  visit(checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!), '');
  return missing.sort();
}

describe('API reference', () => {
  it('every exported function and class has a doc comment', () => {
    expect(undocumented()).toEqual([]);
  });
});
