/**
 * Parks a fleet fast, for benchmarks: N certificates imported into the SCM emulator as issued, and one
 * certificate workflow each started from carried state (as a renewal's continue-as-new starts it), so
 * that it plans its renewal and waits, Active — without enrolling N certificates through Jira. The
 * workflows are CLI-style (no Jira issue), named PARK-<n> (or another prefix).
 */
import type { Client } from '@temporalio/client';
import {
  certificateWorkflowId,
  continuedSearchAttributes,
  type CarriedState,
  type ProfileSettings,
} from '../src/contract/certificate.ts';
import { TASK_QUEUE } from '../src/contract/shared.ts';
import type { ScmEmulator } from '../src/sandbox/scm-emulator.ts';
import type { certificateLifecycle } from '../src/workflows/certificate/workflow.ts';

export interface ParkOptions {
  client: Client;
  scm: ScmEmulator;
  count: number;
  /** The profile (id and Jira name) the certificates belong to. */
  profile?: { id: string; name: string; orgId: number; certType: number };
  /**
   * One validity for every certificate, a herd that expires together. By default the fleet grew over the
   * past 300 days, one certificate after another, each for 365 days: 65 to 365 days left, none due, and
   * SCM's reports of a day's orders hold a day's share of the fleet, as an operator's do.
   */
  validity?: { notBefore: number; notAfter: number };
  /** A CSR for each domain, for certificates that are to renew; without it they can only wait. */
  csr?: (domain: string) => Promise<string>;
  /** Workflow starts in flight at once. */
  concurrency?: number;
  /** The issue keys' prefix (default PARK): another on a server that keeps an earlier run's. */
  prefix?: string;
  /** The issuing CA certificate's fingerprint each certificate records (the `CertificateIssuer` attribute). */
  issuer?: string;
  /**
   * The profile's settings, carried as a renewal's continue-as-new carries those it read as it handed over
   * (the workflow then plans without reading the profile); without them, each workflow reads the profile.
   */
  settings?: ProfileSettings;
  /** Called now and then with how many are started. */
  progress?: (started: number) => void;
}

/**
 * The issuer a certificate of the SCM emulator records, as the connector writes it when it publishes one
 * (the issuing CA's SHA-256 thumbprint, `CertificateIssuer`): a fleet as enrolled carries it.
 */
export async function emulatorIssuer(scm: ScmEmulator): Promise<string> {
  return Buffer.from(await scm.ca.intermediate.getThumbprint('SHA-256'))
    .toString('hex')
    .toUpperCase();
}

/** Answers the certificate ids, in the order of PARK-1…PARK-N. */
export async function parkCertificates(options: ParkOptions): Promise<number[]> {
  const profile = options.profile ?? { id: 'ov-server', name: 'OV Server Certificate', orgId: 1, certType: 1001 };
  const now = Date.now();
  const [day, grewOver, lifetime] = [86_400_000, 300, 365];
  const validity = (i: number) => {
    if (options.validity) return options.validity;
    const notBefore = now - ((options.count - i) * grewOver * day) / options.count;
    return { notBefore, notAfter: notBefore + lifetime * day };
  };
  const ids = options.scm.importIssued(
    Array.from({ length: options.count }, (_, i) => ({
      commonName: `park-${i + 1}.example.com`,
      orgId: profile.orgId,
      certTypeId: profile.certType,
      expires: validity(i).notAfter,
      issued: validity(i).notBefore,
    })),
  );
  let next = 0;
  let started = 0;
  const startOne = async (i: number) => {
    const issueKey = `${options.prefix ?? 'PARK'}-${i + 1}`;
    const domain = `park-${i + 1}.example.com`;
    const current = {
      certificateId: ids[i] ?? 0,
      serialNumber: `PARK${i + 1}`,
      ...validity(i),
      obtainedAt: validity(i).notBefore,
      ...(options.issuer ? { issuer: options.issuer } : {}),
    };
    const carried: CarriedState = {
      generation: 1,
      profileId: profile.id,
      domain,
      current,
      history: [{ ...current, reason: 'enrolled' }],
      handledRequests: [],
      ...(options.settings ? { settings: options.settings } : {}),
    };
    await options.client.workflow.start<typeof certificateLifecycle>('certificateLifecycle', {
      workflowId: certificateWorkflowId(issueKey),
      taskQueue: TASK_QUEUE,
      args: [
        {
          issueKey,
          requestedBy: 'bench:park',
          triggerId: `park:${issueKey}`,
          standalone: { csr: (await options.csr?.(domain)) ?? '', profileName: profile.name },
          carried,
        },
      ],
      // As a renewal's continue-as-new starts the run: indexed as the certificate it carries.
      typedSearchAttributes: continuedSearchAttributes(issueKey, carried),
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    if (++started % 500 === 0) options.progress?.(started);
  };
  await Promise.all(
    Array.from({ length: options.concurrency ?? 32 }, async () => {
      while (next < options.count) await startOne(next++);
    }),
  );
  return ids;
}
