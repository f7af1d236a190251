/** Kubernetes name rules used by validation. Pure. */

const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** Problems with `value` as a DNS-1035 label (empty list = valid). */
export function dns1035LabelErrors(value: string, maxLength = 63): string[] {
  const out: string[] = [];
  if (value.length > maxLength) out.push(`must be no more than ${maxLength} characters`);
  if (!DNS1035.test(value)) {
    out.push("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character");
  }
  return out;
}

/** Problems with `value` as a DNS-1123 label (namespaces). */
export function dns1123LabelErrors(value: string): string[] {
  const out: string[] = [];
  if (value.length > 63) out.push('must be no more than 63 characters');
  if (!DNS1123.test(value)) {
    out.push("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character");
  }
  return out;
}

/** Problems with `value` as a DNS-1123 subdomain (Kubernetes' rule for most object names, custom resources included). */
export function dns1123SubdomainErrors(value: string, maxLength = 253): string[] {
  const out: string[] = [];
  if (value.length > maxLength) out.push(`must be no more than ${maxLength} characters`);
  if (!DNS1123_SUBDOMAIN.test(value)) {
    out.push("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')");
  }
  return out;
}

export function isEnvVarName(value: string): boolean {
  return ENV_NAME.test(value);
}

/** Env names the platform sets on every replica (Knative's runtime contract); users may not set them. */
export const RESERVED_ENV_NAMES: readonly string[] = Object.freeze(['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION']);
