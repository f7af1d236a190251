/**
 * Kubernetes resource quantities (`resource.ParseQuantity` of k8s.io/apimachinery): a signed decimal number and an
 * optional suffix, binary SI (`Ki`, `Mi`, `Gi`, `Ti`, `Pi`, `Ei`), decimal SI (`n`, `u`, `m`, `k`, `M`, `G`, `T`, `P`,
 * `E`) or a decimal exponent (`e3`, `E-2`). Pure.
 */

const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

const SUFFIX: Readonly<Record<string, number>> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/**
 * The value of a quantity (`400m` → 0.4, `1Gi` → 1073741824), or undefined when `raw` is not one. A float: enough to
 * compare quantities and to tell `1000m` from `1` apart from their spelling, not to do exact arithmetic.
 */
export function quantityValue(raw: string): number | undefined {
  const m = QUANTITY.exec(raw);
  if (!m) return undefined;
  const n = Number(m[1]);
  const suffix = m[2];
  if (suffix === undefined) return n;
  const factor = SUFFIX[suffix] ?? 10 ** Number(suffix.slice(1));
  return n * factor;
}
