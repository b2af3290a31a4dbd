/**
 * Encrypted payloads: with PAYLOAD_ENCRYPTION_KEYS set, every payload the worker, the receiver and the CLI
 * hand to Temporal (CSRs, requesters' names, Jira texts, certificates) is AES-256-GCM ciphertext, so the
 * server — Temporal Cloud included — stores none of it in clear. The key's id travels in the payload's
 * metadata: keys rotate by putting a new one first and keeping the old ones for what they encrypted.
 * Runs outside the workflow sandbox (a data converter's codec), so Node's crypto is at hand.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

// A CommonJS module: its namespaces come with the default export.
const { Payload: PayloadMessage } = proto.temporal.api.common.v1;

/** `id:base64key[,id:base64key…]`: 32-byte AES keys, the first encrypts, all decrypt. */
export const PAYLOAD_KEYS_VARIABLE = 'PAYLOAD_ENCRYPTION_KEYS';
export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Thrown for keys that cannot work, with what to fix. */
export class EncryptionKeyError extends Error {}

/** The keys of PAYLOAD_ENCRYPTION_KEYS, the one that encrypts first. */
export function parseEncryptionKeys(value: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  for (const entry of value.split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    const colon = entry.indexOf(':');
    const id = entry.slice(0, colon);
    if (colon <= 0 || !/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
      throw new EncryptionKeyError(`${PAYLOAD_KEYS_VARIABLE}: each key is id:base64 (an id of letters, digits, . _ -)`);
    }
    const key = Buffer.from(entry.slice(colon + 1), 'base64');
    if (key.length !== 32) {
      throw new EncryptionKeyError(
        `${PAYLOAD_KEYS_VARIABLE}: key "${id}" is ${key.length} bytes; AES-256 takes 32 (openssl rand -base64 32)`,
      );
    }
    if (keys.has(id)) throw new EncryptionKeyError(`${PAYLOAD_KEYS_VARIABLE}: key id "${id}" appears twice`);
    keys.set(id, key);
  }
  if (keys.size === 0) throw new EncryptionKeyError(`${PAYLOAD_KEYS_VARIABLE} is set but names no key`);
  return keys;
}

/** AES-256-GCM over the whole payload (its metadata too), the key's id in the clear beside it. */
export class EncryptionCodec implements PayloadCodec {
  readonly #keys: Map<string, Buffer>;
  readonly #current: [string, Buffer];

  constructor(keys: Map<string, Buffer>) {
    const first = [...keys][0];
    if (!first) throw new EncryptionKeyError('no encryption key');
    this.#keys = keys;
    this.#current = first;
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    const [id, key] = this.#current;
    return Promise.resolve(
      payloads.map((payload) => {
        const iv = randomBytes(IV_BYTES);
        const cipher = createCipheriv('aes-256-gcm', key, iv);
        // The key id is authenticated with the data: a payload cannot be moved under another id.
        cipher.setAAD(Buffer.from(id));
        const plain = PayloadMessage.encode(payload).finish();
        const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
        return {
          metadata: { encoding: encoder.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: encoder.encode(id) },
          data,
        };
      }),
    );
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    // A payload that cannot be decrypted rejects the promise (never a throw from decode itself).
    return Promise.resolve().then(() =>
      payloads.map((payload) => {
        const encoding = payload.metadata?.encoding;
        if (!encoding || decoder.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
        const idBytes = payload.metadata?.[KEY_ID_METADATA];
        const id = idBytes ? decoder.decode(idBytes) : '';
        const key = this.#keys.get(id);
        if (!key) {
          throw new EncryptionKeyError(`a payload is encrypted with key "${id}", which ${PAYLOAD_KEYS_VARIABLE} lacks`);
        }
        const data = Buffer.from(payload.data ?? []);
        const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
        decipher.setAAD(Buffer.from(id));
        decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
        const plain = Buffer.concat([
          decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
          decipher.final(),
        ]);
        return PayloadMessage.decode(plain);
      }),
    );
  }
}

/** The codec PAYLOAD_ENCRYPTION_KEYS asks for, or none. */
export function payloadCodecFrom(env: Readonly<Record<string, string | undefined>>): EncryptionCodec | undefined {
  const value = env[PAYLOAD_KEYS_VARIABLE]?.trim();
  return value ? new EncryptionCodec(parseEncryptionKeys(value)) : undefined;
}
