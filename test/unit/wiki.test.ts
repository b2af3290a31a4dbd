/**
 * Wiki markup written safely: whatever a user, a CSR or SCM wrote reaches a Data Center comment as its
 * characters, never as a link, macro, image, mention, table or format — read back by the emulator's
 * renderer, which flags every construct the notation has.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { textToWiki, wikiToText } from '../../src/jira/wiki.ts';
import { renderWiki } from '../../src/sandbox/wiki-render.ts';

const HOSTILE = [
  '[click here|https://evil.example/steal] and [~admin] and [CERT-1]',
  '!https://evil.example/pixel.png! !tracker.gif|width=1!',
  '{code}rm -rf /{code} {noformat}x{noformat} {color:red}alarm{color} {html}<b>x</b>{html}',
  '*bold* _italic_ -struck- +under+ ^sup^ ~sub~ ??cite?? {{mono}}',
  '|| a || b ||\n| 1 | 2 |',
  '# first\n* bullet\n- dash\nh1. Heading\nbq. quote\n----',
  'see https://evil.example, ftp://x.example/y, mailto:root@example.com and file:///etc/passwd',
  'smile :) wink ;) :D :P ;P (y) (n) (i) (/) (x) (!) (+) (-) (?) (on) (off) (*)',
  'a line\\\\ break, a backslash \\ and -- dashes --- too',
  'Certificate ID 5000, serial 0A:1B, valid until 2027-01-01T00:00:00.000Z (certificate and chain, PEM).',
];

describe('wiki markup written by the connector', () => {
  for (const text of HOSTILE) {
    it(`renders ${JSON.stringify(text.slice(0, 40))} literally`, () => {
      const rendered = renderWiki(textToWiki(text));
      assert.deepEqual(rendered.markup, [], 'no construct of the notation survives');
      assert.equal(rendered.text, text);
      assert.equal(wikiToText(textToWiki(text)), text);
    });
  }

  it('is read by a strict renderer: the hostile texts as they are would all be markup', () => {
    for (const text of HOSTILE.slice(0, 8)) assert.notDeepEqual(renderWiki(text).markup, [], text);
  });
});
