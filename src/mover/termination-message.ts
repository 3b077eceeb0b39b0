// The MoverResult as the container's termination message. The kubelet keeps at
// most 4096 bytes of it, and the controller must be able to parse what it
// reads, so the one long text a result may hold (an error's message, or what a
// repository check found) is cut (on a character, never inside a UTF-8
// sequence or a JSON escape) until the whole JSON fits.
import type { MoverResult } from '../api/index.ts';

export const terminationMessageLimit = 4096;

const ellipsis = '…';
const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/** The text of a result that may be long, and the result with that text replaced. */
function longText(result: MoverResult): { text: string; withText: (text: string) => MoverResult } | undefined {
  switch (result.type) {
    case 'summary':
    case 'restored':
    case 'downloaded':
      return undefined;
    case 'error':
      return { text: result.message, withText: (message) => ({ ...result, message }) };
    case 'maintenance': {
      const check = result.check;
      if (check === undefined) return undefined;
      return { text: check.message, withText: (message) => ({ ...result, check: { ...check, message } }) };
    }
  }
}

export function encodeResult(result: MoverResult, limitBytes: number = terminationMessageLimit): string {
  const whole = JSON.stringify(result);
  const long = longText(result);
  if (bytes(whole) <= limitBytes || long === undefined) return whole;
  const characters = Array.from(long.text);
  const encode = (kept: number) => JSON.stringify(long.withText(characters.slice(0, kept).join('') + ellipsis));
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
