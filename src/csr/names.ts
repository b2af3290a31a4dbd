/**
 * DNS names as CAs accept them (RFC 1034/5280 preferred name syntax, CA/Browser Forum rules): labels of
 * letters, digits and hyphens, 1–63 octets each, 253 in all, no trailing dot, a wildcard only as the
 * whole left-most label, internationalized names only as A-labels.
 */
import { domainToASCII } from 'node:url';

export type NameCheck = { ok: true } | { ok: false; why: string } | { ok: false; aLabel: string };

const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Checks one name (lower-cased by the caller); a U-label name answers the A-label form to use instead. */
export function checkDnsName(name: string): NameCheck {
  if (name === '') return { ok: false, why: 'it is empty' };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f]/.test(name)) return { ok: false, why: 'it contains spaces or control characters' };
  // eslint-disable-next-line no-control-regex
  if (/[^\u0000-\u007f]/.test(name)) {
    const aLabel = domainToASCII(name);
    return aLabel !== '' && checkDnsName(aLabel).ok
      ? { ok: false, aLabel }
      : { ok: false, why: 'it contains characters that no domain name can have' };
  }
  if (name.endsWith('.')) return { ok: false, why: 'it ends with a dot' };
  if (name.length > 253) return { ok: false, why: `it is ${name.length} characters long, more than 253` };
  const labels = name.split('.');
  if (labels.length < 2) return { ok: false, why: 'it is not a fully qualified domain name' };
  for (const [index, label] of labels.entries()) {
    if (label === '*') {
      if (index === 0) continue;
      return { ok: false, why: 'a wildcard may only be the whole left-most label' };
    }
    if (label.includes('*'))
      return { ok: false, why: 'a wildcard may only be the whole left-most label (as in *.example.com)' };
    if (label === '') return { ok: false, why: 'it has an empty label (two dots in a row)' };
    if (label.length > 63) return { ok: false, why: `its label "${label.slice(0, 20)}…" is longer than 63 characters` };
    if (!LABEL.test(label)) {
      return { ok: false, why: 'labels take only letters, digits and hyphens, and no hyphen at either end' };
    }
  }
  if (/^[0-9]+$/.test(labels.at(-1) ?? '')) return { ok: false, why: 'it is an IP address, not a domain name' };
  return { ok: true };
}

/**
 * Whether `name` is covered by a profile's allowed domains: an exact entry, or a `*.parent` entry covering
 * every name of one or more labels below parent (wildcard names included). Compared label by label.
 */
export function isDomainAllowed(name: string, allowed: readonly string[]): boolean {
  const labels = name.toLowerCase().split('.');
  return allowed.some((entry) => {
    const wanted = entry.toLowerCase().split('.');
    if (wanted[0] !== '*') return labels.join('.') === wanted.join('.');
    const parent = wanted.slice(1);
    return labels.length > parent.length && labels.slice(-parent.length).join('.') === parent.join('.');
  });
}
