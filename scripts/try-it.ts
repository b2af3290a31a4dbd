/**
 * `npm run try-it -- <domain> [profile]`: what a requester does in the sandbox, end to end. Makes a key
 * and CSR (the key stays in DATA_DIR/try-it), creates a "Certificate" issue as alice, runs "Enroll
 * Certificate", waits for the PEM on the issue and prints what Jira shows. A key of an earlier run is
 * never overwritten.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { SANDBOX_USERS } from '../src/sandbox/jira-emulator.ts';
import { generateCsr, Requester } from '../src/sandbox/requester.ts';

const domain = process.argv[2] ?? 'www.example.com';
const profile = process.argv[3] ?? 'OV Server Certificate';
const config = loadConfig();
const jiraUrl = `http://127.0.0.1:${config.sandbox.jiraPort}`;
const { alice } = SANDBOX_USERS;

const requester = new Requester(jiraUrl, alice);
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

const key = await requester.createCertificateIssue({ summary: `TLS certificate for ${domain}`, profile, csr });
console.log(`${key} - TLS certificate for ${domain} has been created`);
const started = Date.now();
await requester.transition(key, 'Enroll Certificate');
console.log(`${key}: ran "Enroll Certificate"; waiting for the certificate…`);

let issue = await requester.readIssue(key);
while (issue.status === 'Certificate Enrolled' && issue.attachments.length === 0 && Date.now() - started < 120_000) {
  await new Promise((r) => setTimeout(r, 250));
  issue = await requester.readIssue(key);
}
await new Promise((r) => setTimeout(r, 500)); // let the last comment land
issue = await requester.readIssue(key);

console.log(`\n${key} has been updated (${((Date.now() - started) / 1000).toFixed(1)} s)`);
console.log(`  Summary:        ${issue.summary}`);
console.log(`  Status:         ${issue.status}`);
console.log(`  Certificate ID: ${issue.certificateId ?? '-'}`);
for (const attachment of issue.attachments) {
  const path = join(dir, attachment.filename);
  writeFileSync(path, await requester.download(attachment));
  console.log(`  Attachment:     ${attachment.filename} (saved to ${path})`);
}
console.log('  Comments:');
for (const comment of issue.comments) console.log(`    - ${comment.replace(/\n+/g, ' ')}`);
console.log(
  `\nThe workflow: http://127.0.0.1:${config.temporal.uiPort}/namespaces/default/workflows/certificate:${key}`,
);
console.log(`Private key: ${keyFile}`);
