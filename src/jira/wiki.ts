/**
 * Jira Data Center's rich text: wiki markup, a plain string. The connector writes only literal text, so
 * every character that markup gives a meaning is escaped: nothing a user, a CSR or SCM wrote can become a
 * link, a macro, an image, a mention, a table or a format. `wikiToText` reads it back as a person sees it.
 *
 * Escaping follows Atlassian's "Text formatting notation" (`\X` escapes the special character X). Two
 * constructs have no escape there: a URL's `://`, which Jira links wherever it appears, and a line that
 * starts a heading or quote (`h1.`, `bq.`); both are broken with a zero-width space, which a reader
 * does not see. docs/compatibility.md says which of this is confirmed.
 */

/** Characters with a meaning in wiki markup: formats, macros, links, images, tables, lists, emoticons. */
const SPECIAL = /[\\*_\-+^~?{}[\]|!#()]/g;
/** A zero-width space: invisible, and no markup survives it. */
const ZWSP = '\u200b';

/** `text` as wiki markup that renders it literally. */
export function textToWiki(text: string): string {
  return text
    .replace(SPECIAL, (c) => `\\${c}`)
    .replace(/:(?=\/\/)/g, `:${ZWSP}`)
    .replace(/\b(mailto|file):/gi, `$1${ZWSP}:`)
    .replace(/([:;])(?=[DPp](?![A-Za-z]))/g, `$1${ZWSP}`)
    .replace(/^(h[1-6]|bq)\./gm, `${ZWSP}$1.`);
}

/** What a person reads of wiki markup the connector wrote: the escapes and zero-width spaces removed. */
export function wikiToText(wiki: string): string {
  return wiki.replace(/\\(.)/g, '$1').replaceAll(ZWSP, '');
}
