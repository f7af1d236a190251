/**
 * Event limits of the broker, in one place (README "Limits"). Pure constants.
 *
 * The rule they serve: never accept an event that cannot be delivered. A subscriber's HTTP server limits
 * request headers (Node's default `maxHeaderSize` is 16 KiB for all of them; nginx's default
 * `large_client_header_buffers` is 8 KiB per line), and a binary-mode delivery puts every attribute in a
 * header. Rejecting big attributes at the ingress would break the CloudEvents rule that intermediaries MUST
 * forward events of up to 64 KB (attributes included) and DESIGN §4's "events up to 64 KiB must always pass".
 * So the broker delivers such events in structured mode instead (everything in the body), and refuses only what
 * no mode makes reasonable: an attribute value over 64 KiB, or more than 1024 attributes.
 */

/**
 * Bytes of the CloudEvents header lines (`ce-*` and `content-type`, each counted as `name: value\r\n`) a
 * binary-mode delivery may carry. Above it the event is delivered in structured mode. 8 KiB keeps every line
 * within nginx's default 8 KiB and leaves half of Node's default 16 KiB for the request line, Host, Prefer,
 * tracing and proxy headers.
 */
export const MAX_BINARY_HEADER_BYTES = 8 * 1024;

/**
 * Attributes (context attributes and extensions, as the producer sent them) one event may have; more is
 * refused at the ingress (431 in binary mode, 413 in structured and batched mode). Real events carry a dozen;
 * the bound keeps per-event work (a Kafka record header each, an object property copied on every clone)
 * proportionate. The broker's own additions (`knativearrivaltime`, the dead-letter `knativeerror*`) do not count.
 */
export const MAX_ATTRIBUTES = 1024;

/**
 * UTF-8 bytes of one attribute value; a longer one is refused at the ingress (431 binary, 413 structured).
 * Equal to CloudEvents' 64 KB forwarding floor, so no event that the 64 KiB rule protects is refused.
 */
export const MAX_ATTRIBUTE_VALUE_BYTES = 64 * 1024;
