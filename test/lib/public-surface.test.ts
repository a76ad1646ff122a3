import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The construct library's public surface, as a CDK user meets it: every construct in `lib/` is
 * exported from the package with its props type, and props are `readonly` (aws-cdk-lib's
 * convention: a construct reads its props once, so changing them afterwards changes nothing).
 */
const LIB = join(import.meta.dirname, '..', '..', 'lib');
const sources = readdirSync(LIB)
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts')
  .map((f) => ts.createSourceFile(f, readFileSync(join(LIB, f), 'utf8'), ts.ScriptTarget.Latest, true));
const exported = (node: ts.Node) =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);

describe('the construct library’s public surface', () => {
  const index = readFileSync(join(LIB, 'index.ts'), 'utf8');
  const constructs = sources.flatMap((file) =>
    file.statements.filter(ts.isClassDeclaration).flatMap((c) => {
      const base = c.heritageClauses?.[0]?.types[0]?.expression.getText(file);
      return exported(c) && c.name && (base === 'Construct' || base === 'Stack')
        ? [{ name: c.name.text, file: file.fileName, props: `${c.name.text}Props` }]
        : [];
    }),
  );

  it('exports every construct of lib/ and its props type from the package', () => {
    expect(constructs.length).toBeGreaterThan(10);
    for (const construct of constructs) {
      expect(index, `${construct.name} (lib/${construct.file})`).toMatch(new RegExp(`\\b${construct.name}\\b`));
      const hasProps = sources.some((f) =>
        f.statements.some((s) => ts.isInterfaceDeclaration(s) && exported(s) && s.name.text === construct.props),
      );
      if (hasProps) expect(index, construct.props).toMatch(new RegExp(`type ${construct.props}\\b`));
    }
  });

  it('declares every prop of every exported props interface readonly', () => {
    const mutable: string[] = [];
    for (const file of sources)
      for (const statement of file.statements)
        if (ts.isInterfaceDeclaration(statement) && exported(statement) && statement.name.text.endsWith('Props'))
          for (const member of statement.members)
            if (
              ts.isPropertySignature(member) &&
              !(ts.getModifiers(member) ?? []).some((m) => m.kind === ts.SyntaxKind.ReadonlyKeyword)
            )
              mutable.push(`${statement.name.text}.${member.name.getText(file)}`);
    expect(mutable).toEqual([]);
  });

  it('binds a configuration error to the construct it concerns, by its path', async () => {
    const { App } = await import('aws-cdk-lib');
    const { SandtrapStack, SandtrapValidationError } = await import('../../lib');
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    let error: unknown;
    try {
      new SandtrapStack(app, 'TeamSandtrap', { config: { ingestNoncurrentDays: 0 } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SandtrapValidationError);
    expect(error).toMatchObject({ constructPath: 'TeamSandtrap' });
    expect((error as Error).message).toMatch(/^TeamSandtrap: invalid Sandtrap configuration: .*ingestNoncurrentDays/s);
  });
});
