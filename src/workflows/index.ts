// The workflows the worker registers; nothing else is exported here, so the bundle stays small.
export { certificateLifecycle } from './certificate/workflow.ts';
export { renewalSweep } from './renewal-sweep.ts';
export { revokeExternalCertificate } from './revoke-external.ts';
export { jiraPolling } from './jira-polling.ts';
export { issueNotice } from './issue-notice.ts';
export { certificateDownload } from './certificate-download.ts';
export { reissue } from './reissue.ts';
