/**
 * `h4mk share NAME --expires 1h [--base URL] [--secret-file F]`: prints a
 * URL that lets anyone read container NAME from `h4mk serve` until it
 * expires, without a token: `BASE/v1/containers/NAME?expires=…&sig=…`
 * (HMAC-SHA256 of the name and the expiry, src/server/signed-url.ts).
 * The server must run with the same secret.
 */
import type { Command } from 'commander';
import { isValidName } from '../../server/names.js';
import { parseDuration, signedUrl } from '../../server/signed-url.js';
import { loadSecret } from '../../server/secrets.js';
import { inputError } from '../errors.js';
import type { Output } from '../output.js';

type ShareOptions = { expires: string; base: string; secretFile?: string };

/** Adds the `share` verb. */
export function registerShare(program: Command, out: Output): void {
  program
    .command('share')
    .description('print a signed URL that lets anyone read one container from h4mk serve until it expires')
    .argument('<name>', 'container name, as h4mk serve lists it')
    .requiredOption('--expires <duration>', 'how long the URL works: 90s, 15m, 1h, 7d (at most 366d)')
    .option('--base <url>', 'the server, as clients reach it', 'http://127.0.0.1:8080')
    .option('--secret-file <file>', 'the signing secret (else $H4MK_SHARE_SECRET); the server must use the same')
    .option('--json', 'print one JSON document')
    .action(async (name: string, options: ShareOptions) => {
      if (!isValidName(name))
        throw inputError(`invalid container name ${JSON.stringify(name)}`, 'names are 1-255 characters from A-Z a-z 0-9 . _ - starting with a letter or digit');
      let seconds: number;
      try {
        seconds = parseDuration(options.expires);
      } catch (error) {
        throw inputError(`--expires: ${(error as Error).message}`);
      }
      let base: URL;
      try {
        base = new URL(options.base);
      } catch {
        throw inputError(`--base: not a URL: ${JSON.stringify(options.base)}`);
      }
      if (base.protocol !== 'http:' && base.protocol !== 'https:') throw inputError('--base must be an http:// or https:// URL');
      let secret: string | undefined;
      try {
        secret = await loadSecret(options.secretFile, 'H4MK_SHARE_SECRET');
      } catch (error) {
        if (error instanceof TypeError) throw inputError(error.message);
        throw inputError(`${options.secretFile}: cannot read the secret file`);
      }
      if (secret === undefined) throw inputError('no signing secret', 'give --secret-file FILE or set H4MK_SHARE_SECRET (the one h4mk serve uses)');
      const expires = Math.floor(Date.now() / 1000) + seconds;
      const url = signedUrl(base.toString(), name, secret, expires);
      if (out.jsonMode) out.json({ url, name, expires, expires_at: new Date(expires * 1000).toISOString() });
      else out.line(url);
    });
}
