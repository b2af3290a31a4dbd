/** What the Temporal Web UI shows of a certificate workflow from its start, taken from the Jira event. */
import type { CertificateRequest } from '../contract/certificate.ts';
import { requestedDomain } from '../csr/inspect.ts';
import { adfToText } from '../jira/adf.ts';
import type { JiraClient } from '../jira/client.ts';
import type { JiraEvent } from './jira-event.ts';

/**
 * What the Temporal Web UI shows of a certificate workflow from its start (its "static" summary and
 * details): the domain and profile as requested, and a link to the issue. Jira text is escaped.
 */
export function webUiMetadata(
  jira: Pick<JiraClient, 'fieldId' | 'issueUrl'>,
  event: JiraEvent,
  request: CertificateRequest,
): { staticSummary: string; staticDetails: string } {
  const fields = event.issue?.fields ?? {};
  const field = (key: 'profile' | 'csr') => {
    const id = jira.fieldId(key);
    return id ? fields[id] : undefined;
  };
  const profile = field('profile');
  const profileName = typeof profile === 'string' ? profile : (profile as { value?: unknown } | null)?.value;
  const domain = requestedDomain(adfToText(field('csr')));
  const summary = typeof fields.summary === 'string' ? fields.summary : undefined;
  const who = event.user?.displayName ?? request.requestedBy;
  const lines = [
    `**[${request.issueKey}](${jira.issueUrl(request.issueKey)})**${summary ? ` ${markdownText(summary)}` : ''}`,
    [
      domain ? markdownText(domain) : 'no domain readable in the CSR',
      typeof profileName === 'string' ? markdownText(profileName) : 'no profile chosen',
      `requested by ${markdownText(who)}`,
    ].join(' · '),
  ];
  return {
    staticSummary: `${domain ? `${markdownText(domain)} — ` : ''}certificate for Jira issue ${request.issueKey}`,
    staticDetails: lines.join('\n\n'),
  };
}

/** Jira text shown as Markdown: characters that would be markup are escaped, lines joined, length bounded. */
function markdownText(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .slice(0, 200)
    .replace(/[\\`*_{}[\]()<>#+!|~]/g, (c) => `\\${c}`);
}
