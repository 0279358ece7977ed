/**
 * `h4mk seal IN --sign-key KEY -o OUT`: a copy of IN with an Ed25519 SEAL
 * over its container id, chain head, block count and index digest (§13.7).
 * IN is checked first (a seal vouches for what it signs) and never modified;
 * OUT appears only once complete (FileSink: temporary file, fsync, rename).
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { type Command, InvalidArgumentError } from 'commander';
import { FileSink, signContainer, writeSealed } from '../../node.js';
import { withContainer } from '../container.js';
import { aboutPath, failure, inputError } from '../errors.js';
import { looseModeWarning, readPrivateFile } from '../key-file.js';
import type { Output } from '../output.js';
import { FORCE_HELP, guardOutput } from '../output-guard.js';
import { startProgress } from '../progress.js';
import { isoTime } from '../../views/index.js';

type SealOptions = { signKey: string; signer: string; output: string; verify: boolean; json?: boolean; force?: boolean };

/** Adds the `seal` verb. */
export function registerSeal(program: Command, out: Output): void {
  program
    .command('seal')
    .description('write a copy of a container signed with an Ed25519 key (the input is not modified)')
    .argument('<file>', 'container to seal')
    .requiredOption('--sign-key <file>', "Ed25519 private key (NAME.key from 'h4mk keygen --sign')")
    .option('--signer <name>', 'who signs, stored in the seal (free text, e.g. an e-mail address; at most 255 UTF-8 bytes)', parseSigner, '')
    .requiredOption('-o, --output <file>', 'sealed container to write (it appears only once complete)')
    .option('--no-verify', 'sign without checking every block first')
    .option('--force', FORCE_HELP)
    .option('--json', 'print what was sealed as one JSON document')
    .addHelpText('after', "\nCheck a sealed container with 'h4mk verify FILE --pub NAME.pub'. A previous seal is replaced.")
    .action(async (file: string, options: SealOptions) => {
      await guardOutput(options.output, [file, options.signKey], { force: options.force === true });
      const privateKeyPem = await readSigningKeyFile(options.signKey, out);
      const result = await withContainer(file, async (reader) => {
        if (options.verify) {
          const progress = startProgress('verifying', reader.blockCount, 'blocks');
          const report = await reader.verify({ onProgress: (done) => progress.update(done) }).finally(() => progress.stop());
          if (!report.ok) {
            const first = report.failures[0];
            throw failure(
              `refusing to seal ${file}: ${first === undefined ? 'verification failed' : `${first.code}: ${first.message}`}`,
              first?.code ?? 'E_FAILED',
              `'h4mk verify ${file}' lists every problem`,
            );
          }
        }
        const replaced = reader.seal?.signer ?? null;
        const seal = signContainer(reader, privateKeyPem, options.signer);
        const sink = await FileSink.create(options.output).catch((error: unknown) => {
          throw aboutPath(options.output, error);
        });
        await writeSealed(reader, sink, seal).catch(async (error: unknown) => {
          await sink.abort();
          throw error;
        });
        return { seal, replaced, blockCount: reader.blockCount, chainHead: reader.chainHead };
      });
      const publicKey = Buffer.from(result.seal.publicKey).toString('hex');
      if (out.jsonMode) {
        out.json({
          ok: true,
          input: file,
          output: options.output,
          signer: result.seal.signer,
          signed_at: result.seal.signedAt,
          public_key: publicKey,
          block_count: result.blockCount,
          chain_head: result.chainHead,
          verified_first: options.verify,
          replaced_seal: result.replaced !== null,
        });
        return;
      }
      const by = result.seal.signer === '' ? 'no signer name' : `signer ${JSON.stringify(result.seal.signer)}`;
      out.line(
        `sealed ${file} into ${options.output}: Ed25519 key ${publicKey}, ${by}, at ${isoTime(result.seal.signedAt)}${result.replaced === null ? '' : ` (replaces the seal by ${JSON.stringify(result.replaced)})`}`,
      );
    });
}

/** Parses --signer: free text of at most 255 UTF-8 bytes (what a seal holds). */
function parseSigner(value: string): string {
  if (Buffer.byteLength(value, 'utf8') > 255) throw new InvalidArgumentError('expected at most 255 UTF-8 bytes');
  return value;
}

/** Reads an Ed25519 private key PEM (warning when others may read the file). */
export async function readSigningKeyFile(path: string, out: Output): Promise<string> {
  const file = await readPrivateFile(path);
  let key: KeyObject;
  try {
    key = createPrivateKey(file.text);
  } catch {
    throw inputError(`${path}: not a PEM private key`, "make a signing pair with 'h4mk keygen --sign -o NAME'");
  }
  if (key.asymmetricKeyType !== 'ed25519') throw inputError(`${path}: not an Ed25519 key (${key.asymmetricKeyType ?? 'unknown type'})`);
  // Only about a file that is a signing key: for anything else the error says all.
  if (file.looseMode !== null) out.warn(looseModeWarning(path, file.looseMode));
  return file.text;
}

/** Reads an Ed25519 public key PEM for `verify --pub`. */
export async function readPublicKeyFile(path: string): Promise<string> {
  const { text } = await readPrivateFile(path);
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch {
    throw inputError(`${path}: not a PEM public key`, "give NAME.pub from 'h4mk keygen --sign -o NAME'");
  }
  if (key.asymmetricKeyType !== 'ed25519') throw inputError(`${path}: not an Ed25519 key (${key.asymmetricKeyType ?? 'unknown type'})`);
  if (key.type !== 'public' || text.includes('PRIVATE KEY')) throw inputError(`${path}: is a private key`, 'give the public half (NAME.pub) to verify');
  return text;
}
