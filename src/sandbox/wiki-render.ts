/**
 * How the Data Center emulator reads wiki markup: as strictly as the notation allows. It answers the text
 * a person would see and every construct that would render as something else — a special character left
 * unescaped (a format, a link, a mention, a macro, an image, a table, a list), a URL (Jira links one
 * wherever it stands), an emoticon, a heading or quote at the start of a line. Atlassian's "Text formatting
 * notation" lists these; where the real renderer might be more forgiving, this one is not.
 */

const SPECIAL = new Set('\\*_-+^~?{}[]|!#()'.split(''));
const ZWSP = '\u200b';

export interface RenderedWiki {
  /** What a reader sees: escapes resolved, zero-width spaces gone. */
  text: string;
  /** Each construct that would not render as its characters, with where it stands. */
  markup: string[];
}

export function renderWiki(wiki: string): RenderedWiki {
  const markup: string[] = [];
  let text = '';
  for (let i = 0; i < wiki.length; i++) {
    const c = wiki[i] ?? '';
    if (c === '\\') {
      text += wiki[i + 1] ?? '';
      i++;
      continue;
    }
    if (c === ZWSP) continue;
    if (SPECIAL.has(c)) markup.push(`"${c}" at ${i}`);
    text += c;
  }
  // What no single character says: a URL, an emoticon of letters, a heading or quote line.
  for (const match of wiki.matchAll(/[a-z][a-z0-9+.-]*:\/\//gi)) markup.push(`a link "${match[0]}" at ${match.index}`);
  for (const match of wiki.matchAll(/\b(?:mailto|file):/gi)) markup.push(`a link "${match[0]}" at ${match.index}`);
  for (const match of wiki.matchAll(/[:;][DPp](?![A-Za-z])/g))
    markup.push(`an emoticon "${match[0]}" at ${match.index}`);
  for (const match of wiki.matchAll(/^(?:h[1-6]|bq)\./gm)) markup.push(`a block "${match[0]}" at ${match.index}`);
  return { text, markup };
}
