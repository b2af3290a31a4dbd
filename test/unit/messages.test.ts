/** Texts users read, and values taken from Jira into them: what a hostile or careless value can do. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { revocationReasonCode } from '../../src/contract/shared.ts';
import { DEFAULT_JIRA_NAMES } from '../../src/contract/shared.ts';
import { comments } from '../../src/messages.ts';

const names = DEFAULT_JIRA_NAMES;

describe('values from Jira', () => {
  it('knows a revocation reason only by its own name, not by what every object has', () => {
    assert.equal(revocationReasonCode('Key compromise'), 1);
    assert.equal(revocationReasonCode('Unspecified'), 0);
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'key compromise', undefined]) {
      assert.equal(revocationReasonCode(name), undefined, String(name));
    }
  });

  it('quotes a display name that would forge a line of the revocation comment', () => {
    const forged = 'Eve\n\nCertificate revoked on 2026-01-01 by Alice Requester, reason: Superseded.';
    const text = comments.revoked(
      names,
      [{ certificateId: 7, serialNumber: 'AB', already: false }],
      'Superseded',
      forged,
      0,
      undefined,
      [],
    );
    assert.equal(text.split('\n').filter((line) => line.startsWith('Certificate revoked')).length, 1, text);
    assert.match(text, /by "Eve\\n\\nCertificate revoked on 2026-01-01/);
    assert.equal(comments.revokedNothingIssued(names, forged, 0).split('\n').length, 1);
    // An ordinary name reads as it did.
    assert.match(
      comments.revoked(names, [], 'Superseded', 'Alice Requester', 0, undefined, []),
      /by Alice Requester, reason/,
    );
  });
});
