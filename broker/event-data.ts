/**
 * EventData: an event's `data` exactly as the producer sent it, carried through the broker as bytes.
 * Pure: no I/O.
 *
 * The ingress (and the reply parser) put one of these in the SDK event's `data` instead of a parsed value, so
 * nothing on the way re-serialises it: `12345678901234567890123`, `1.0`, key order, whitespace, duplicate keys,
 * `\u00e9` escapes and invalid UTF-8 in a binary body all arrive as sent. Filters and CESQL read only
 * attributes, so nothing in the broker needs the parsed value.
 *
 * `form` says what the bytes are, which is what delivery needs to write them back in either content mode:
 *  - `json`: a JSON text (valid UTF-8): the raw text of a structured event's `data` member (under a JSON or
 *    absent `datacontenttype`), or a binary-mode body under a JSON media type (checked at the ingress).
 *    Structured mode writes it back verbatim as `"data": <text>`.
 *  - `text`: the value of a structured event's `data` string under a non-JSON `datacontenttype` (valid UTF-8).
 *    Structured mode writes it as a JSON string.
 *  - `binary`: any bytes: a binary-mode body of a non-JSON (or no) media type, or `data_base64`.
 *    Structured mode writes `data_base64`.
 * Binary mode always writes `bytes` as the body.
 *
 * Why not a Uint8Array in `data`: the SDK's CloudEvent constructor base64-encodes binary data into
 * `data_base64` on every construction (and `cloneWith` decodes it again, byte by byte in JS), and a bare byte
 * array cannot say whether it was JSON (deliverable as application/json when no datacontenttype is set) or
 * opaque bytes (which need structured mode then, see delivery/message.ts).
 */
import { isUtf8 } from 'node:buffer';

export type DataForm = 'json' | 'text' | 'binary';

export class EventData {
  /** The exact bytes. Never mutated (treat as read-only; events are immutable). */
  readonly bytes: Buffer;
  readonly form: DataForm;

  constructor(bytes: Buffer, form: DataForm) {
    this.bytes = bytes;
    this.form = form;
    Object.freeze(this);
  }

  /** The bytes as UTF-8 text (invalid sequences become U+FFFD: for display only). */
  text(): string {
    return this.bytes.toString('utf8');
  }

  /**
   * What `JSON.stringify(event)` (e.g. the SDK's `HTTP.structured`, logs) shows for the data: the parsed JSON
   * value, the text, or base64 of binary bytes. Lossy by nature; the broker's own paths never use it.
   */
  toJSON(): unknown {
    if (this.form === 'json') {
      try {
        return JSON.parse(this.text()) as unknown;
      } catch {
        return this.text();
      }
    }
    return this.form === 'text' ? this.text() : this.bytes.toString('base64');
  }
}

export function isEventData(v: unknown): v is EventData {
  return v instanceof EventData;
}

/** JSON media types (lower-case, parameters dropped): application/json, text/json, anything `+json`. */
export function isJsonMedia(media: string): boolean {
  return media === 'application/json' || media === 'text/json' || media.endsWith('+json');
}

/** The media type of a content type (lower-cased, parameters dropped), or '' for none. */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
}

/** True when `bytes` are valid UTF-8. */
export function isUtf8Bytes(bytes: Uint8Array): boolean {
  return isUtf8(bytes);
}
