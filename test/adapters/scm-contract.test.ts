/**
 * The SCM emulator held to Sectigo's own description of SCM: its answers have the properties and types of
 * Sectigo's OpenAPI "Admin Operations" 25.9.2 (EvotecIT/SectigoCertificateManager, Documentation/api.json:
 * CertDetailsResponse, SSLIdentity, EnrollResponse, RenewResponse, ApiCertType, ErrorResponse). The schemas
 * below are that document's, property by property; every property is optional there, so only the type of
 * what is sent is checked, and the properties the connector reads must be sent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { ScmEmulator } from '../../src/sandbox/scm-emulator.ts';
import { opensslCsr, eventually } from '../helpers/environment.ts';

const int = z.number().int();
const date = z.string(); // "date-time" in the document, MM/dd/yyyy by default in the reference's examples
const ApiCertType = z.looseObject({
  id: int.optional(),
  name: z.string().optional(),
  description: z.string().optional(),
  terms: z.array(int).optional(),
  keyTypes: z.record(z.string(), z.unknown()).optional(),
  useSecondaryOrgName: z.boolean().optional(),
});
const CertDetailsResponse = z.looseObject({
  commonName: z.string().optional(),
  sslId: int.optional(),
  id: int.optional(),
  orgId: int.optional(),
  status: z.string().optional(),
  orderNumber: int.optional(),
  backendCertId: z.string().optional(),
  certType: ApiCertType.optional(),
  term: int.optional(),
  requester: z.string().optional(),
  requestedVia: z.string().optional(),
  externalRequester: z.string().optional(),
  comments: z.string().optional(),
  requested: date.optional(),
  approved: date.optional(),
  issued: date.optional(),
  declined: date.optional(),
  expires: date.optional(),
  replaced: date.optional(),
  revoked: date.optional(),
  reasonCode: z.enum(['0', '1', '2', '3', '4', '5', '6', '8', '9', '10']).optional(),
  renewed: z.boolean().optional(),
  renewedDate: date.optional(),
  serialNumber: z.string().optional(),
  keyType: z.string().optional(),
  keySize: int.optional(),
  subjectAlternativeNames: z.array(z.string()).optional(),
});
const SSLIdentity = z.looseObject({
  sslId: int.optional(),
  commonName: z.string().optional(),
  subjectAlternativeNames: z.array(z.string()).optional(),
  serialNumber: z.string().optional(),
});
const EnrollResponse = z.looseObject({ sslId: int.optional(), renewId: z.string().optional() });
const RenewResponse = z.looseObject({ sslId: int.optional() });
const ErrorResponse = z.looseObject({
  code: int.optional(),
  description: z.string(),
  items: z.array(z.string()).optional(),
  details: z.string().optional(),
});

describe('SCM emulator against Sectigo’s OpenAPI', () => {
  let scm: ScmEmulator;
  const headers = () => ({
    login: scm.credentials.login,
    password: scm.credentials.password,
    customerUri: scm.credentials.customerUri,
    'content-type': 'application/json',
  });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${scm.apiUrl}${path}`, {
      method,
      headers: headers(),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: text === '' ? undefined : (JSON.parse(text) as unknown) };
  };
  const conforms = (schema: z.ZodType, value: unknown, what: string) => {
    const parsed = schema.safeParse(value);
    assert.ok(parsed.success, `${what}: ${parsed.success ? '' : JSON.stringify(parsed.error.issues, null, 2)}`);
  };
  before(async () => {
    scm = await ScmEmulator.start({ issuanceDelayMs: 0 });
  });
  after(async () => {
    await scm?.stop();
  });

  it('answers enroll, details, list, renewById, revoke and types in the document’s shapes', async () => {
    const enrolled = await call('POST', '/ssl/v1/enroll', {
      orgId: 1,
      certType: 1001,
      term: 365,
      csr: opensslCsr('/CN=oas.example.com', 'ec-p256'),
      comments: 'oas',
    });
    assert.equal(enrolled.status, 200);
    conforms(EnrollResponse, enrolled.json, 'enroll');
    const { sslId } = enrolled.json as { sslId: number };
    const details = await eventually(async () => {
      const got = await call('GET', `/ssl/v1/${sslId}`);
      return (got.json as { status?: string }).status === 'Issued' ? got.json : undefined;
    }, 'issuance');
    conforms(CertDetailsResponse, details, 'details');
    for (const read of ['id', 'status', 'commonName', 'serialNumber', 'comments', 'renewed', 'expires', 'orgId']) {
      assert.ok(read in (details as object), `details carry ${read}, which the connector reads`);
    }
    const list = await call('GET', '/ssl/v1?commonName=oas.example.com');
    conforms(z.array(SSLIdentity), list.json, 'list');
    const renewed = await call('POST', `/ssl/v1/renewById/${sslId}`, {});
    conforms(RenewResponse, renewed.json, 'renewById');
    assert.equal((await call('POST', `/ssl/v1/revoke/${sslId}`, { reasonCode: 4, reason: 'oas' })).status, 204);
    conforms(CertDetailsResponse, (await call('GET', `/ssl/v1/${sslId}`)).json, 'revoked details');
    conforms(z.array(ApiCertType), (await call('GET', '/ssl/v1/types')).json, 'types');
  });

  it('answers errors as ErrorResponse: a description, and a numeric code', async () => {
    for (const [method, path, body] of [
      ['GET', '/ssl/v1/999999', undefined],
      ['POST', '/ssl/v1/enroll', { orgId: 1 }],
      ['POST', '/ssl/v1/revoke/999999', { reasonCode: 0, reason: 'x' }],
    ] as const) {
      const answer = await call(method, path, body);
      assert.ok(answer.status >= 400, `${method} ${path}`);
      conforms(ErrorResponse, answer.json, `${method} ${path}`);
    }
  });
});
