/** What the connector reads in SCM's words: its token in an order's comments, statuses, days. */

export const DAY_MS = 86_400_000;

/** The UTC day of an instant, as SCM's report takes it. */
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** The connector's token in an order's comments: `[certificate:<KEY>/<run>/g<N>/<event>]`. */
export const TOKEN = /\[(certificate:([A-Z][A-Z0-9_]*-[1-9][0-9]*)\/[^\]\s]+)\]/;

/** Statuses of an order SCM is still processing. */
export const IN_PROGRESS = new Set(['Init', 'Requested', 'Approved', 'SAApproved', 'Applied']);
/** Statuses of an order SCM will not issue. */
export const DECLINED = new Set(['Declined', 'Rejected', 'Invalid']);
