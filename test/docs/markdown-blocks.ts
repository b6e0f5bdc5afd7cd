/**
 * The fenced code blocks of README.md and docs/*.md, and what the docs test
 * (code-blocks.test.ts) does with each, decided by the block's info string:
 *
 *   ```ts                 a complete TypeScript module: type-checked, strict ('pipe-io-server' is lib/index.ts)
 *   ```ts continued       appended to the previous checked ts block of the same file, then type-checked;
 *                         a ts block whose first line is `// @scope/name` is that package to the others
 *   ```js                 JavaScript: parsed by this Node as an ES module (node --check)
 *   ```bash / ```sh       parsed (bash -n)
 *   ```bash run           also run: bash -euo pipefail in a fresh temp dir, pipe-io-server on PATH, must exit 0
 *   ```python             parsed (ast.parse)
 *   ```json               parsed (JSON.parse)
 *   ```<lang> fragment    a piece that cannot stand alone (a signature list, a line of a larger
 *                         program): not checked; say so rather than leave it broken
 *   ```text               output, diagrams, usage synopses: not checked
 *   ```yaml / ```promql    configuration and queries for other programs: not checked
 *
 * A block without an info string, or with a language or word not listed here, fails the test.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const LANGUAGES = ['ts', 'js', 'bash', 'sh', 'python', 'c', 'json', 'text', 'yaml', 'promql'] as const;
export const MODIFIERS = ['fragment', 'continued', 'run'] as const;

export interface CodeBlock {
  /** The markdown file, relative to the repository. */
  file: string;
  /** 1-based line of the first line of the block's body. */
  line: number;
  /** The whole info string (`ts fragment`). */
  info: string;
  lang: string;
  modifiers: string[];
  /** The body, its fence's indentation removed. */
  code: string;
}

/** Every fenced block of `file` (``` fences, indented ones inside lists included). */
export function extractBlocks(repo: string, file: string): CodeBlock[] {
  const lines = fs.readFileSync(path.join(repo, file), 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, rawInfo] = open as unknown as [string, string, string, string];
    const close = new RegExp(`^\\s*${fence}\\s*$`);
    let j = i + 1;
    while (j < lines.length && !close.test(lines[j]!)) j++;
    const body = lines.slice(i + 1, j).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart()));
    const info = rawInfo.trim();
    const [lang = '', ...modifiers] = info.split(/\s+/).filter(Boolean);
    blocks.push({ file, line: i + 2, info, lang, modifiers, code: body.join('\n') });
    i = j;
  }
  return blocks;
}

/** The markdown files whose blocks are checked. */
export function markdownFiles(repo: string): string[] {
  const docs = fs
    .readdirSync(path.join(repo, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

/** Why a block's info string breaks the convention above, or undefined. */
export function infoProblem(block: CodeBlock): string | undefined {
  if (!block.lang) return 'no info string: say what the block is (```ts, ```bash, ```text, ...)';
  if (!(LANGUAGES as readonly string[]).includes(block.lang)) return `unknown language "${block.lang}" (known: ${LANGUAGES.join(', ')})`;
  const unknown = block.modifiers.filter((m) => !(MODIFIERS as readonly string[]).includes(m));
  if (unknown.length > 0) return `unknown word(s) "${unknown.join(' ')}" (known: ${MODIFIERS.join(', ')})`;
  if (block.modifiers.includes('run') && block.lang !== 'bash' && block.lang !== 'sh') return '"run" is for bash/sh blocks';
  if (block.modifiers.includes('continued') && block.lang !== 'ts') return '"continued" is for ts blocks';
  if (block.lang === 'c' && !block.modifiers.includes('fragment')) return 'C blocks are not compiled: mark them "c fragment"';
  return undefined;
}

/** `where` for messages: `README.md:42`. */
export function where(block: CodeBlock, offset = 0): string {
  return `${block.file}:${block.line + offset}`;
}
