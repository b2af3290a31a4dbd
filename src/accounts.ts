/**
 * SCM accounts besides the default one (SECTIGO_*): the profiles file's `accounts`, each with its SCM,
 * credentials and rate limit, as the connector of the user guide keeps them per profile. Their secrets
 * are read here, from the environment variable or the file each names, never from the profiles file.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, DEFAULT_SECTIGO_TOKEN_URL, type SectigoConfig } from './config.ts';
import type { ScmAccount, SecretSource } from './profiles.ts';
import type { ScmAuth, ScmClient } from './sectigo/client.ts';
import { clientCertificateProblem } from './sectigo/client-certificate.ts';

/** A named account, connected: its settings, its client and its rate limit (requests a second). */
export interface ConnectedAccount {
  name: string;
  config: SectigoConfig;
  scm: ScmClient;
  requestsPerSecond: number;
}

/**
 * Each named account's settings with its secret read; a secret that cannot be read is a ConfigError
 * naming the account and where its secret was to come from.
 */
export function accountSettings(
  accounts: readonly ScmAccount[],
  env: Record<string, string | undefined> = process.env,
  defaultTimeoutMs = 30_000,
): Array<{ name: string; config: SectigoConfig; requestsPerSecond: number | undefined }> {
  const problems: string[] = [];
  const secret = (account: string, field: string, source: SecretSource): string => {
    if ('env' in source) {
      const value = env[source.env]?.trim();
      if (!value) problems.push(`account "${account}": ${field}: the environment variable ${source.env} is not set`);
      return value ?? '';
    }
    try {
      const value = readFileSync(source.file, 'utf8').trim();
      if (!value) problems.push(`account "${account}": ${field}: the file ${source.file} is empty`);
      return value;
    } catch (err) {
      problems.push(`account "${account}": ${field}: cannot read ${source.file} (${(err as Error).message})`);
      return '';
    }
  };
  const authOf = (name: string, auth: ScmAccount['auth']): ScmAuth => {
    if (auth.kind === 'password') {
      return { ...auth, password: secret(name, 'auth.password', auth.password) };
    }
    if (auth.kind === 'oauth') {
      return {
        ...auth,
        tokenUrl: auth.tokenUrl ?? DEFAULT_SECTIGO_TOKEN_URL,
        clientSecret: secret(name, 'auth.clientSecret', auth.clientSecret),
      };
    }
    const pair = {
      certificate: secret(name, 'auth.certificate', auth.certificate),
      key: secret(name, 'auth.key', auth.key),
      passphrase: auth.passphrase && secret(name, 'auth.passphrase', auth.passphrase),
    };
    const problem = pair.certificate && pair.key ? clientCertificateProblem(pair) : undefined;
    if (problem) problems.push(`account "${name}": auth: ${problem}`);
    return { ...auth, ...pair };
  };
  const settings = accounts.map(({ name, baseUrl, auth, ca, requestsPerSecond, timeoutMs }) => ({
    name,
    requestsPerSecond,
    config: {
      baseUrl,
      timeoutMs: timeoutMs ?? defaultTimeoutMs,
      auth: authOf(name, auth),
      ...(ca ? { ca: secret(name, 'ca', ca) } : {}),
    },
  }));
  if (problems.length > 0) throw new ConfigError(problems);
  return settings;
}
