/** Profile settings for the workflows: configuration is read through an activity, never baked into history. */
import { createHash } from 'node:crypto';
import { Profiles, type Profile } from '../profiles.ts';
import type { ProfileSettings } from '../contract/certificate.ts';
import { DEFAULT_ACCOUNT } from '../contract/shared.ts';

/** The settings that decide renewal, and a fingerprint that changes whenever one of them does. */
export function renewalSettings(profile: Profile): ProfileSettings {
  const account = Profiles.accountOf(profile);
  const settings = {
    profileId: profile.id,
    profileName: profile.name,
    expiryWindow: profile.expiryWindow,
    autoRenew: profile.autoRenew,
    allowRenewalOutsideWindow: profile.allowRenewalOutsideWindow,
    forceRenewalRequestedAt:
      profile.forceRenewalRequestedAt === null ? null : Date.parse(profile.forceRenewalRequestedAt),
    // Only where set: the profiles of the default account keep the fingerprints they had before accounts.
    ...(account ? { account } : {}),
  };
  const fingerprint = createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 16);
  return { ...settings, fingerprint };
}

export function createProfileActivities({ profiles }: { profiles: Profiles }) {
  return {
    /** The profile's renewal settings, or null when it is no longer configured (the workflow waits for it). */
    getProfileSettings(profileId: string): Promise<ProfileSettings | null> {
      const profile = profiles.byId(profileId);
      return Promise.resolve(profile ? renewalSettings(profile) : null);
    },

    /** Every SCM account: the default one (SECTIGO_*), then those of the profiles file. For the sweep. */
    scmAccounts(): Promise<string[]> {
      return Promise.resolve([DEFAULT_ACCOUNT, ...profiles.accounts.map((account) => account.name)]);
    },

    /** The SCM account of the profile with this name or id, where it is not the default one (none: unknown). */
    accountOfProfile(nameOrId: string | undefined): Promise<string | undefined> {
      const profile = nameOrId === undefined ? undefined : profiles.named(nameOrId);
      return Promise.resolve(profile ? Profiles.accountOf(profile) : undefined);
    },

    /** Current fingerprints by profile id, for the sweep. */
    profileFingerprints(): Promise<Record<string, string>> {
      return Promise.resolve(
        Object.fromEntries(profiles.all.map((profile) => [profile.id, renewalSettings(profile).fingerprint])),
      );
    },
  };
}
export type ProfileActivities = ReturnType<typeof createProfileActivities>;
