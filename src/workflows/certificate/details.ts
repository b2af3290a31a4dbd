/** The certificate workflow in the Temporal Web UI: its "current details", as Markdown. */
import type { CertificateStatus } from '../../contract/certificate.ts';

/** Where the certificate stands, and what happens next. */
export function describe(status: CertificateStatus, issueUrl: string | undefined): string {
  const issue = issueUrl ? `[${status.issueKey}](${issueUrl})` : status.issueKey;
  const lines = [`**${status.phase}** — ${issue}, generation ${status.generation}`];
  if (status.domain) {
    const id = status.certificateId ? ` · certificate ${status.certificateId}` : '';
    lines.push(`${status.domain} · profile ${status.profileId ?? '?'}${id}`);
  }
  const times: string[] = [];
  if (status.notAfter) times.push(`expires ${instant(status.notAfter)}`);
  if (status.renewAt) times.push(`renews ${instant(status.renewAt)}`);
  else if (status.windowOpensAt && status.phase === 'Active')
    times.push(`renewable from ${instant(status.windowOpensAt)}`);
  if (times.length > 0) lines.push(times.join(' · '));
  if (status.lastError) {
    const attempts = status.renewalFailures > 0 ? ` (${status.renewalFailures} failed renewal attempts)` : '';
    lines.push(`**Last error${attempts}:** ${status.lastError}`);
  }
  return lines.join('\n\n');
}

/** An instant as operators read it: UTC to the minute. */
export function instant(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}
