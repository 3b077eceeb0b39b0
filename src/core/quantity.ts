// Kubernetes resource quantities ("10Gi", "500M", "1.5G", "2e3") to bytes and
// back. Sizes in status rows and volume requests go through here.

const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimal: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

export type QuantityResult = { ok: true; bytes: number } | { ok: false; error: string };

export function parseQuantity(text: string): QuantityResult {
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/.exec(text.trim());
  if (match === null) return { ok: false, error: `"${text}" is not a quantity (examples: 10Gi, 500M, 1024)` };
  const [, number, suffix, exponent] = match;
  const value = Number(number);
  const factor =
    suffix === undefined
      ? exponent === undefined
        ? 1
        : 10 ** Number(exponent)
      : (binary[suffix] ?? decimal[suffix] ?? 1);
  return { ok: true, bytes: Math.ceil(value * factor) };
}

/** The byte count of a quantity that is known to be valid (from the API server). */
export function quantityBytes(text: string): number {
  const result = parseQuantity(text);
  if (!result.ok) throw new Error(result.error);
  return result.bytes;
}

/** Human-readable binary size: 0 B, 512 B, 1.5 KiB, 10 GiB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const rounded = unit === 0 || value >= 100 ? Math.round(value).toString() : value.toFixed(1).replace(/\.0$/, '');
  return `${rounded} ${units[unit] as string}`;
}
