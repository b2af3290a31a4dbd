/**
 * What the certificate workflow does on its Jira issue: the only way it reaches Jira. A certificate
 * enrolled from the CLI has no issue; its tracker says nothing anywhere.
 */
import type { JiraActivities } from '../../activities/jira.ts';
import type { CertificateLifecycleInput } from '../../contract/certificate.ts';
import { jira, localJira } from '../activities.ts';
import type { Changes } from './changes.ts';

export type Tracker = Pick<
  JiraActivities,
  | 'readCertificateIssue'
  | 'commentOnce'
  | 'attachOnce'
  | 'updateIssue'
  | 'moveIssue'
  | 'returnIssueTo'
  | 'publishCertificate'
> & {
  /** commentOnce by a local activity: a comment posted by the workflow task that decides it. */
  commentOnceLocally: JiraActivities['commentOnce'];
};

/** The tracker of this run: its issue, read locally where the run follows that change, or none. */
export function trackerFor(input: CertificateLifecycleInput, changes: Changes): Tracker {
  if (input.standalone) return withoutIssue(input.issueKey, input.standalone);
  return onIssue(changes.localIssueRead);
}

/** The issue's tracker, the issue read by a local activity or not. (A proxy of activities cannot be spread.) */
function onIssue(readLocally: boolean): Tracker {
  return {
    readCertificateIssue: readLocally ? localJira.readCertificateIssue : jira.readCertificateIssue,
    commentOnce: jira.commentOnce,
    commentOnceLocally: localJira.commentOnce,
    attachOnce: jira.attachOnce,
    updateIssue: jira.updateIssue,
    moveIssue: jira.moveIssue,
    returnIssueTo: jira.returnIssueTo,
    publishCertificate: jira.publishCertificate,
  };
}

/** A certificate without an issue: the request is the CLI's, and nothing is said anywhere. */
function withoutIssue(issueKey: string, request: { csr: string; profileName: string }): Tracker {
  const nothing = () => Promise.resolve();
  return {
    readCertificateIssue: () =>
      Promise.resolve({
        key: issueKey,
        issueType: '',
        status: '',
        summary: '',
        profileName: request.profileName,
        csr: request.csr,
        certificateId: undefined,
        reporterId: undefined,
        attachments: [],
      }),
    commentOnce: nothing,
    commentOnceLocally: nothing,
    attachOnce: nothing,
    updateIssue: nothing,
    moveIssue: nothing,
    returnIssueTo: nothing,
    publishCertificate: nothing,
  };
}
