// Whether a password opens one of a restic repository's key files, without
// restic: the key file holds the master key encrypted with a key derived from
// the password (scrypt with the file's own parameters, then AES-256-CTR). A
// wrong password decrypts to noise, never to the master key's JSON. The
// derived key lives only inside this call.
import { createDecipheriv, scrypt } from 'node:crypto';
import { z } from 'zod';

const keyFile = z.object({
  kdf: z.literal('scrypt'),
  N: z.int().min(2),
  r: z.int().min(1),
  p: z.int().min(1),
  salt: z.string(),
  data: z.string(),
});

/** restic calibrates its scrypt to 60 MiB; anything far beyond is not a key file to trust. */
const maxScryptBytes = 512 * 1024 * 1024;

export type KeyVerdict = 'opens' | 'does-not-open' | 'not-a-key';

export async function passwordOpensKey(file: string, password: string): Promise<KeyVerdict> {
  let parsed: z.infer<typeof keyFile>;
  try {
    parsed = keyFile.parse(JSON.parse(file));
  } catch {
    return 'not-a-key';
  }
  const memory = 128 * parsed.N * parsed.r * parsed.p + 128 * parsed.N * parsed.r;
  if (memory > maxScryptBytes) return 'not-a-key';
  const derived = await new Promise<Buffer>((resolve, reject) =>
    scrypt(
      password,
      Buffer.from(parsed.salt, 'base64'),
      64,
      { N: parsed.N, r: parsed.r, p: parsed.p, maxmem: memory + 1024 * 1024 },
      (error, key) => (error === null ? resolve(key) : reject(error)),
    ),
  );
  const data = Buffer.from(parsed.data, 'base64');
  if (data.length < 33) return 'not-a-key';
  // data is IV (16 bytes), ciphertext, MAC (16 bytes); the first 32 derived bytes are the AES key.
  const decipher = createDecipheriv('aes-256-ctr', derived.subarray(0, 32), data.subarray(0, 16));
  const plain = Buffer.concat([decipher.update(data.subarray(16, data.length - 16)), decipher.final()]);
  derived.fill(0);
  try {
    const master = JSON.parse(plain.toString('utf8')) as { encrypt?: unknown; mac?: unknown };
    return typeof master.encrypt === 'string' && typeof master.mac === 'object' ? 'opens' : 'does-not-open';
  } catch {
    return 'does-not-open';
  } finally {
    plain.fill(0);
  }
}
