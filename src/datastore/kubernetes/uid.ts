/**
 * Calico's UID translation between a Kubernetes object and the Calico object derived from or stored in it
 * (libcalico-go/lib/backend/k8s/conversion/conversion.go `ConvertUID`): every byte of the UUID is bit-reversed
 * except byte 6 (version) and byte 8 (variant), so a v4 UUID stays a valid v4 UUID, and converting twice gives
 * the original back. kns./ksa. profiles, KNP-derived policies and every `crd.projectcalico.org/v1` resource show
 * the translated UID; a delete's UID precondition is translated back before it is sent.
 */
import { ValidationError } from '../../lib/errors.js';

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function reverseBits(b: number): number {
  let out = 0;
  for (let i = 0; i < 8; i++) out = (out << 1) | ((b >> i) & 1);
  return out;
}

/** The translated UID, lower-case and hyphenated; a ValidationError for a value that is not a UUID. */
export function convertUid(uid: string, path = 'metadata.uid'): string {
  if (!UUID.test(uid)) {
    throw new ValidationError([{ path, message: `failed to parse UID for resource: invalid UUID "${uid}"` }]);
  }
  const hex = uid.replace(/-/g, '').toLowerCase();
  const bytes: number[] = [];
  for (let i = 0; i < 16; i++) {
    const b = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    bytes.push(i === 6 || i === 8 ? b : reverseBits(b));
  }
  const h = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
