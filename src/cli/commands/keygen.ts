/**
 * `h4mk keygen -o KEY`: a new 32-byte container secret in a key file (mode
 * 0600). `h4mk keygen --sign -o NAME`: a new Ed25519 pair, NAME.key (PKCS#8
 * PEM, mode 0600) and NAME.pub (SPKI PEM). Existing files are never replaced
 * without --force. Nothing secret is printed.
 */
import { createPublicKey, randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { generateSigningKeys } from '../../node.js';
import { inputError } from '../errors.js';
import { formatSecretKey, SECRET_KEY_LENGTH, writeKeyFile } from '../key-file.js';
import type { Output } from '../output.js';
import { guardOutput } from '../output-guard.js';

type KeygenOptions = { output: string; sign?: boolean; force?: boolean };

/** Adds the `keygen` verb. */
export function registerKeygen(program: Command, out: Output): void {
  program
    .command('keygen')
    .description('make a secret key file for --encrypt, or with --sign an Ed25519 pair for seal')
    .requiredOption('-o, --output <file>', 'key file to create (with --sign: NAME, writing NAME.key and NAME.pub)')
    .option('--sign', 'make an Ed25519 signing pair instead of a secret key')
    .option('--force', 'replace existing files (the old key is lost); it is replaced only once the new one is complete')
    .option('--json', 'print what was written as one JSON document (never the key)')
    .addHelpText(
      'after',
      `
The secret key file is one line 'h4mk-secret-v1 <base64>' with mode 0600: anyone holding it
can decrypt every container made with it. Back it up; there is no recovery without it.`,
    )
    .action(async (options: KeygenOptions) => {
      if (options.sign === true) {
        await signingPair(out, options);
        return;
      }
      await guardOutput(options.output, [], { force: options.force === true });
      const secret = new Uint8Array(randomBytes(SECRET_KEY_LENGTH));
      await writeKeyFile(options.output, formatSecretKey(secret), { force: options.force === true, mode: 0o600 });
      secret.fill(0);
      if (out.jsonMode) out.json({ ok: true, kind: 'secret', output: options.output, bits: SECRET_KEY_LENGTH * 8, mode: '0600' });
      else out.line(`wrote a new ${SECRET_KEY_LENGTH * 8}-bit secret key to ${options.output} (mode 0600); anyone holding it can decrypt what it encrypts`);
    });
}

async function signingPair(out: Output, options: KeygenOptions): Promise<void> {
  const base = options.output.replace(/\.(key|pub)$/, '');
  const privatePath = `${base}.key`;
  const publicPath = `${base}.pub`;
  if (options.output === '') throw inputError('-o: the output path is empty', 'give -o the NAME of the pair (NAME.key and NAME.pub)');
  for (const path of [privatePath, publicPath]) await guardOutput(path, [], { force: options.force === true });
  const { privateKeyPem, publicKeyPem } = generateSigningKeys();
  await writeKeyFile(privatePath, privateKeyPem, { force: options.force === true, mode: 0o600 });
  await writeKeyFile(publicPath, publicKeyPem, { force: options.force === true, mode: 0o644 });
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  const publicKey = der.subarray(der.length - 32).toString('hex');
  if (out.jsonMode) {
    out.json({ ok: true, kind: 'ed25519', private_key: privatePath, public_key: publicPath, public_key_hex: publicKey });
    return;
  }
  out.line(`wrote an Ed25519 signing key to ${privatePath} (mode 0600) and its public key to ${publicPath}`);
  out.line(`public key ${publicKey}`);
}
