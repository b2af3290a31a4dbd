/** The contract of `renewalSweep`, the daily safety net a Temporal Schedule starts. Sandbox-safe. */

/** The schedule that starts the sweep; it also keeps where the next sweep takes up, in its arguments. */
export const SWEEP_SCHEDULE_ID = 'certificate-renewal-sweep';

/** An order that carries a token of the connector's: which issue's workflow placed it. */
export interface TokenedOrder {
  certificateId: number;
  issueKey: string;
  token: string;
  /** The SCM account it is in, where it is not the default one. */
  account?: string;
}

/** Where the next sweep takes up in one SCM account's lists. */
export interface AccountSweepState {
  orderWatermark?: number;
  replacedSeen?: number;
}

/** The default account's state is SweepInput's own fields (as before accounts); the others' are under `accounts`. */
export interface SweepInput {
  /** The other SCM accounts' states, by account name. */
  accounts?: Record<string, AccountSweepState>;
  /** SCM orders up to this id have been checked for an owner; kept in the schedule's arguments. */
  orderWatermark?: number;
  /** SCM changes up to this instant (epoch ms) have been told; kept in the schedule's arguments. */
  scmCheckedUntil?: number;
  /** How many replaced certificates SCM listed at the last sweep. */
  replacedSeen?: number;
  /** The profiles' fingerprints at the last sweep, by profile id. */
  fingerprints?: Record<string, string>;
  /** When the last sweep looked for plans made without a profile fingerprint (epoch ms). */
  unindexedCheckedAt?: number;
}

export interface SweepTotals {
  inspected: number;
  reevaluated: number;
  reconciled: number;
  /** Orders carrying the connector's token that no workflow owns (told on their issues). */
  unownedOrders?: TokenedOrder[];
}
