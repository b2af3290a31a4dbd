/**
 * Atlassian Document Format, the rich-text shape of Jira Cloud's v3 API: the few nodes the connector
 * writes, and a reader that turns a document back into plain text (CSRs pasted into a textarea field).
 */
export interface AdfNode {
  type: string;
  text?: string;
  content?: AdfNode[];
  attrs?: Record<string, unknown>;
  marks?: Array<{ type: string; attrs?: Record<string, unknown> }>;
}
export interface AdfDoc extends AdfNode {
  type: 'doc';
  version: 1;
  content: AdfNode[];
}

/** A document of paragraphs, one per blank-line-separated block of `text`; single newlines become breaks. */
export function textToAdf(text: string): AdfDoc {
  const paragraphs = text
    .split(/\n{2,}/)
    .map((block) => block.trim())
    .filter((block) => block !== '');
  return {
    type: 'doc',
    version: 1,
    content: paragraphs.map((block) => ({
      type: 'paragraph',
      content: block.split('\n').flatMap((line, i) => {
        const text: AdfNode[] = line === '' ? [] : [{ type: 'text', text: line }];
        return i === 0 ? text : [{ type: 'hardBreak' }, ...text];
      }),
    })),
  };
}

/** A document holding one code block, the way a PEM is best pasted into a rich-text field. */
export function codeBlockAdf(code: string): AdfDoc {
  return { type: 'doc', version: 1, content: [{ type: 'codeBlock', content: [{ type: 'text', text: code }] }] };
}

/** Plain text of a document (or the string itself, as Data Center and v2 send it). */
export function adfToText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return '';
  const node = value as AdfNode;
  if (node.type === 'text') return node.text ?? '';
  if (node.type === 'hardBreak') return '\n';
  const inner = (node.content ?? []).map(adfToText);
  const isBlockContainer = node.type === 'doc' || node.type === 'blockquote' || node.type.endsWith('List');
  return isBlockContainer ? inner.join('\n') : inner.join('');
}

/** Checks the rules Jira enforces on ADF; returns the first problem, or undefined. */
export function adfProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'body must be an ADF document';
  const doc = value as Partial<AdfDoc>;
  if (doc.type !== 'doc' || doc.version !== 1 || !Array.isArray(doc.content)) {
    return 'ADF root must be {type:"doc", version:1, content:[...]}';
  }
  const visit = (node: AdfNode, inCode: boolean): string | undefined => {
    if (typeof node.type !== 'string') return 'every ADF node needs a type';
    if (node.type === 'text') {
      if (typeof node.text !== 'string' || node.text.length === 0) return 'ADF text nodes must not be empty';
      if (inCode && node.marks?.length) return 'text inside a codeBlock must not carry marks';
    }
    for (const child of node.content ?? []) {
      const problem = visit(child, inCode || node.type === 'codeBlock');
      if (problem) return problem;
    }
    return undefined;
  };
  for (const node of doc.content) {
    const problem = visit(node, false);
    if (problem) return problem;
  }
  return undefined;
}
