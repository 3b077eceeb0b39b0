// What the client presents to the API server, asked for before every request:
// a static token, a token file re-read as it rotates (tokenFile, a Pod's
// projected service-account token), client certificates inline or in files,
// or an exec plugin's credential. Reads go through the injected CredentialIo.
import type { ExecPlugin } from './exec-plugin.ts';
import type { PemSource, UserEntry } from './kubeconfig.ts';
import { describeFileError, LoginError } from './login-error.ts';

export interface Credential {
  /** The Authorization header: `Bearer …` or `Basic …`. */
  authorization?: string;
  cert?: string;
  key?: string;
}

export interface CredentialSource {
  current(): Promise<Credential>;
  /** The server answered 401 to `credential`; true when current() may now give a fresher one worth a retry. */
  refused(credential: Credential): boolean;
}

export interface CredentialIo {
  readFile(path: string): Promise<string>;
  /** Changes whenever the file is replaced or rewritten (inode, size, mtime). */
  fileVersion(path: string): Promise<string>;
  now(): number;
}

/** How long a file's content is trusted without reading it again, even if it looks unchanged (client-go: a minute). */
export const fileRereadMs = 60_000;

export function staticCredentials(credential: Credential = {}): CredentialSource {
  return { current: () => Promise.resolve(credential), refused: () => false };
}

/** A file read again when it changed, or a minute after the last read. */
export class RotatingFile {
  #content: string | undefined;
  #version = '';
  #readAt = 0;

  readonly path: string;
  readonly #io: CredentialIo;

  constructor(path: string, io: CredentialIo) {
    this.path = path;
    this.#io = io;
  }

  async read(): Promise<string> {
    const now = this.#io.now();
    const version = await this.#io.fileVersion(this.path);
    if (this.#content !== undefined && version === this.#version && now - this.#readAt < fileRereadMs)
      return this.#content;
    this.#content = await this.#io.readFile(this.path);
    this.#version = version;
    this.#readAt = now;
    return this.#content;
  }
}

/** A kubeconfig user's credentials; `plugin` is the user's exec plugin, if any. */
export function userCredentials(
  subject: string,
  user: UserEntry,
  io: CredentialIo,
  plugin?: ExecPlugin,
): CredentialSource {
  if ((user.clientCertificate === undefined) !== (user.clientKey === undefined))
    throw new LoginError(
      subject,
      user.clientCertificate === undefined
        ? 'client-key is set without client-certificate'
        : 'client-certificate is set without client-key',
    );
  const read = (label: string, file: RotatingFile) => async () => {
    try {
      return await file.read();
    } catch (error) {
      throw new LoginError(subject, `${label} ${file.path}: ${describeFileError(error)}`, { cause: error });
    }
  };
  const pem = (label: string, source: PemSource | undefined) =>
    source === undefined
      ? undefined
      : 'data' in source
        ? () => Promise.resolve(source.data)
        : read(label, new RotatingFile(source.file, io));
  const cert = pem('client-certificate', user.clientCertificate);
  const key = pem('client-key', user.clientKey);
  const tokenFile = user.tokenFile === undefined ? undefined : read('tokenFile', new RotatingFile(user.tokenFile, io));
  const basic =
    user.basic === undefined
      ? undefined
      : `Basic ${Buffer.from(`${user.basic.username}:${user.basic.password}`).toString('base64')}`;

  return {
    async current() {
      const fromPlugin = plugin === undefined ? undefined : await plugin.credential();
      // As in client-go: a token or password in the kubeconfig comes before the plugin's.
      const token = tokenFile === undefined ? user.token : (await tokenFile()).trim();
      const authorization =
        token !== undefined && token !== ''
          ? `Bearer ${token}`
          : (basic ?? (fromPlugin?.token === undefined ? undefined : `Bearer ${fromPlugin.token}`));
      const pair =
        cert !== undefined && key !== undefined
          ? { cert: await cert(), key: await key() }
          : fromPlugin?.cert === undefined
            ? {}
            : { cert: fromPlugin.cert, key: fromPlugin.key };
      return { ...(authorization === undefined ? {} : { authorization }), ...pair };
    },
    refused(credential) {
      if (plugin === undefined) return tokenFile !== undefined;
      const token =
        credential.authorization?.startsWith('Bearer ') === true ? credential.authorization.slice(7) : undefined;
      plugin.refused({
        ...(token === undefined ? {} : { token }),
        ...(credential.cert === undefined ? {} : { cert: credential.cert }),
      });
      return true;
    },
  };
}

/** A Pod's service account: the projected token, re-read as the kubelet rotates it. */
export function serviceAccountCredentials(tokenPath: string, io: CredentialIo): CredentialSource {
  const file = new RotatingFile(tokenPath, io);
  return {
    async current() {
      try {
        return { authorization: `Bearer ${(await file.read()).trim()}` };
      } catch (error) {
        throw new LoginError('service account', `token ${tokenPath}: ${describeFileError(error)}`, { cause: error });
      }
    },
    // A 401 may mean the token rotated a moment ago; RotatingFile sees a changed file at once.
    refused: () => true,
  };
}
