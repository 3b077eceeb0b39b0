// The MoverResult as the container's termination message. The kubelet keeps at
// most 4096 bytes of it, and the controller must be able to parse what it
// reads, so a long error message is cut (on a character, never inside a UTF-8
// sequence or a JSON escape) until the whole JSON fits.
import type { MoverResult } from '../api/index.ts';

export const terminationMessageLimit = 4096;

const ellipsis = '…';
const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

export function encodeResult(result: MoverResult, limitBytes: number = terminationMessageLimit): string {
  const whole = JSON.stringify(result);
  if (bytes(whole) <= limitBytes || result.type !== 'error') return whole;
  const characters = Array.from(result.message);
  const encode = (kept: number) =>
    JSON.stringify({ ...result, message: characters.slice(0, kept).join('') + ellipsis } satisfies MoverResult);
  // The longest prefix that fits: the encoding only grows as characters are added.
  let low = 0;
  let high = characters.length - 1;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (bytes(encode(middle)) <= limitBytes) low = middle;
    else high = middle - 1;
  }
  return encode(low);
}
