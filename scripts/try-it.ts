/**
 * `npm run try-it -- <domain> [profile]`: what a requester does in the sandbox, end to end. Makes a key
 * and CSR (the key stays in DATA_DIR/try-it), creates a "Certificate" issue as alice, runs "Enroll
 * Certificate", waits for the PEM on the issue and prints what Jira shows. A key of an earlier run is
 * never overwritten.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { adfToText } from '../src/jira/adf.ts';
import { loadConfig } from '../src/config.ts';
import { SANDBOX_USERS } from '../src/sandbox/jira-emulator.ts';
import { generateCsr, Requester } from '../src/sandbox/requester.ts';

const domain = process.argv[2] ?? 'www.example.com';
const profile = process.argv[3] ?? 'OV Server Certificate';
const config = loadConfig();
const jiraUrl = `http://127.0.0.1:${config.sandbox.jiraPort}`;
const { alice } = SANDBOX_USERS;
const auth = `Basic ${Buffer.from(`${alice.emailAddress}:${alice.apiToken}`).toString('base64')}`;

interface Issue {
  fields: {
    summary: string;
    status: { name: string };
    customfield_10052: string | null;
    attachment: Array<{ id: string; filename: string; content: string }>;
    comment: { comments: Array<{ body: unknown }> };
  };
}

async function readIssue(key: string): Promise<Issue> {
  const res = await fetch(`${jiraUrl}/rest/api/3/issue/${key}`, { headers: { authorization: auth } });
  if (!res.ok) throw new Error(`reading ${key}: HTTP ${res.status}`);
  return (await res.json()) as Issue;
}

const dir = resolve(config.sandbox.dataDir, 'try-it');
mkdirSync(dir, { recursive: true });
const { csr, privateKeyPem } = await generateCsr(domain, 'ec');
const keyFile = saveKey(domain, privateKeyPem);

/**
 * Writes the key to `<domain>.key`, or `<domain>.2.key`, `.3.key`… when an earlier run's key is there:
 * a key is never overwritten (its certificate may still be in use).
 */
function saveKey(name: string, pem: string): string {
  for (let n = 1; ; n++) {
    const path = join(dir, n === 1 ? `${name}.key` : `${name}.${n}.key`);
    try {
      writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
      return path;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

const requester = new Requester(jiraUrl, alice);
const key = await requester.createCertificateIssue({ summary: `TLS certificate for ${domain}`, profile, csr });
console.log(`${key} - TLS certificate for ${domain} has been created`);
const started = Date.now();
await requester.transition(key, 'Enroll Certificate');
console.log(`${key}: ran "Enroll Certificate"; waiting for the certificate…`);

let issue = await readIssue(key);
while (
  issue.fields.status.name === 'Certificate Enrolled' &&
  issue.fields.attachment.length === 0 &&
  Date.now() - started < 120_000
) {
  await new Promise((r) => setTimeout(r, 250));
  issue = await readIssue(key);
}
await new Promise((r) => setTimeout(r, 500)); // let the last comment land
issue = await readIssue(key);

console.log(`\n${key} has been updated (${((Date.now() - started) / 1000).toFixed(1)} s)`);
console.log(`  Summary:        ${issue.fields.summary}`);
console.log(`  Status:         ${issue.fields.status.name}`);
console.log(`  Certificate ID: ${issue.fields.customfield_10052 ?? '-'}`);
for (const attachment of issue.fields.attachment) {
  const pem = await fetch(`${jiraUrl}/rest/api/3/attachment/content/${attachment.id}?redirect=false`, {
    headers: { authorization: auth },
  });
  const path = join(dir, attachment.filename);
  writeFileSync(path, Buffer.from(await pem.arrayBuffer()));
  console.log(`  Attachment:     ${attachment.filename} (saved to ${path})`);
}
console.log('  Comments:');
for (const comment of issue.fields.comment.comments)
  console.log(`    - ${adfToText(comment.body).replace(/\n+/g, ' ')}`);
console.log(
  `\nThe workflow: http://127.0.0.1:${config.temporal.uiPort}/namespaces/default/workflows/certificate:${key}`,
);
console.log(`Private key: ${keyFile}`);
