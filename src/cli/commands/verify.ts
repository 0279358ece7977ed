/**
 * `h4mk verify FILE`: checks every byte (CRCs, block digests, the hash chain,
 * decompression). Any damage, including a file that cannot even be opened as
 * a container, is exit 1 with the failing core_index list.
 *
 * Encrypted containers: with `--key-file` or `--passphrase-env` every block's
 * AES-GCM tag, END_OF_TRACK and the transcript MAC are checked too (§13.5);
 * with `--grant`, the tags of the blocks the grant opens and END_OF_TRACK
 * where the grant reaches a track's last block. A key that does not open the
 * container is exit 2 (E_KEY), not a verification failure.
 *
 * Sealed containers: the Ed25519 signature is always checked against the
 * container; `--pub KEY.pub` also requires it to be that key's. A seal
 * vouches for the index (chain head, block count, index digest); the block
 * checks tie every byte to the index, so together they fail on any change.
 */
import type { Command } from 'commander';
import { H4mkError, H4mkReader, type SealCheck, type VerifyFailure, type VerifyReport, verifySeal } from '../../node.js';
import { withSource } from '../container.js';
import { readerHints } from '../input.js';
import { failure } from '../errors.js';
import { addKeyOptions, type KeyKind, keyInputOf, type KeyOptions } from '../key-options.js';
import { failureView, isoTime, reportView } from '../../views/index.js';
import type { Output } from '../output.js';
import { startProgress } from '../progress.js';
import { readPublicKeyFile } from './seal.js';

type VerifyCliOptions = KeyOptions & { decompress: boolean; pub?: string };

/** The seal part of a verification. */
type SealOutcome = {
  sealed: boolean;
  /** What the seal says, when there is one. */
  claim: { signer: string; signedAt: number; publicKey: string; signerSigned: boolean } | null;
  /** The signature matches the container (and `--pub`, when given). */
  valid: boolean;
  /** `--pub` was given and the seal was made with it. */
  trusted: boolean;
  /** Why the check failed. */
  problem: string | null;
};

/** Crypto facts for the report. */
type CryptoOutcome = { encrypted: boolean; key: KeyKind | null; epochUs: number | null };

/** What verifying a file gave: a report, or the error that kept it from opening. */
type Outcome = { opened: false; error: H4mkError } | { opened: true; report: VerifyReport; seal: SealOutcome; crypto: CryptoOutcome };

/** Adds the `verify` verb. */
export function registerVerify(program: Command, out: Output): void {
  const command = program
    .command('verify')
    .description('check every CRC, block digest, the hash chain, every payload, and with a key every tag and the transcript; exit 1 on any damage')
    .argument('<file>', 'container to check')
    .option('--no-decompress', 'skip decompressing payloads of blocks not decrypted (digests and CRCs are still checked)')
    .option('--pub <file>', "require a seal made with this Ed25519 public key (from 'h4mk keygen --sign')")
    .option('--json', 'print the report as one JSON document');
  addKeyOptions(command).action(async (file: string, options: VerifyCliOptions) => {
    const key = await keyInputOf(options, out);
    const publicKeyPem = options.pub === undefined ? undefined : await readPublicKeyFile(options.pub);
    const outcome = await withSource(file, async (source): Promise<Outcome> => {
      let reader: H4mkReader;
      try {
        reader = await H4mkReader.open(source, readerHints());
      } catch (error) {
        if (error instanceof H4mkError) return { opened: false, error };
        throw error;
      }
      // E_KEY (wrong key, another container, not encrypted) is an input error: exit 2.
      if (key !== undefined) reader.unlock(key.key);
      const progress = startProgress('verifying', reader.blockCount, 'blocks');
      let report: VerifyReport;
      try {
        report = await reader.verify({ decompress: options.decompress, onProgress: (done) => progress.update(done) });
      } finally {
        progress.stop();
      }
      const seal = checkSeal(reader, publicKeyPem, report.failures);
      if (seal.sealed || publicKeyPem !== undefined) report = { ...report, ok: report.ok && seal.valid };
      return { opened: true, report, seal, crypto: { encrypted: reader.encrypted, key: key?.kind ?? null, epochUs: reader.cryptoParams?.epochUs ?? null } };
    });
    if (!outcome.opened) {
      const e = outcome.error;
      if (out.jsonMode) out.json({ file, ok: false, opened: false, failed_blocks: [], failures: [failureView(failureOfError(e))] });
      else out.line(`${out.style('FAILED', 'red')}: ${file} cannot be opened as a container: ${e.code}: ${e.message}`);
      throw failure(`${file}: ${e.code}: ${e.message}`, e.code, "the index cannot be read; 'h4mk dump FILE' shows which chunks are intact");
    }
    printReport(out, file, outcome);
    const r = outcome.report;
    if (!r.ok) {
      const blocks = r.failedBlocks.length === 0 ? '' : `; damaged core_index: ${r.failedBlocks.join(', ')}`;
      throw failure(`verification failed: ${r.failures.length} problem(s)${blocks}`, r.failures[0]?.code ?? 'E_FAILED');
    }
  });
}

/** Checks the seal (if any, or if `--pub` requires one); a failure is added to `failures`. */
function checkSeal(reader: H4mkReader, publicKeyPem: string | undefined, failures: VerifyFailure[]): SealOutcome {
  const seal = reader.seal;
  const claim =
    seal === null
      ? null
      : { signer: seal.signer, signedAt: seal.signedAt, publicKey: Buffer.from(seal.publicKey).toString('hex'), signerSigned: seal.messageVersion >= 1 };
  if (seal === null && publicKeyPem === undefined) return { sealed: false, claim, valid: false, trusted: false, problem: null };
  let check: SealCheck;
  try {
    check = verifySeal(reader, publicKeyPem);
  } catch (error) {
    if (!(error instanceof H4mkError)) throw error;
    const f = failureOfError(error);
    failures.push(f);
    return { sealed: seal !== null, claim, valid: false, trusted: false, problem: f.message.replace(/ \(chunk SEAL\)$/, '') };
  }
  return { sealed: true, claim, valid: true, trusted: publicKeyPem !== undefined && check.publicKey === claim?.publicKey, problem: null };
}

function failureOfError(e: H4mkError): VerifyFailure {
  const f: VerifyFailure = { code: e.code, message: e.message };
  if (e.coreIndex !== undefined) f.coreIndex = e.coreIndex;
  if (e.chunk !== undefined) f.chunk = e.chunk;
  if (e.offset !== undefined) f.offset = e.offset;
  return f;
}

/** One line about encryption: what was authenticated with which key. */
function cryptoLine(c: CryptoOutcome, r: VerifyReport): string | null {
  if (!c.encrypted) return null;
  if (c.key === null) return 'encrypted: tags not checked (no key given: --key-file, --passphrase-env or --grant)';
  const what = `${r.decryptedBlocks} of ${r.blockCount} blocks decrypted and authenticated`;
  if (c.key === 'grant')
    return `encrypted: ${what} with the grant; END_OF_TRACK checked where the grant reaches a track's end; the transcript MAC needs the container key`;
  return `encrypted: ${what}; END_OF_TRACK and the transcript MAC checked`;
}

/** One line about the seal. */
function sealLine(s: SealOutcome): string | null {
  if (s.claim === null) return null; // an unsealed container required to be sealed is already a listed failure
  const signer = s.claim.signerSigned
    ? JSON.stringify(s.claim.signer)
    : `${JSON.stringify(s.claim.signer)} (an older seal: this name is not covered by the signature)`;
  const who = `sealed by ${signer} at ${isoTime(s.claim.signedAt)}, Ed25519 key ${s.claim.publicKey}`;
  if (!s.valid) return `${who}: FAILED: ${s.problem ?? 'invalid signature'}`;
  return s.trusted
    ? `${who}: signature valid, key matches --pub`
    : `${who}: signature valid for the key it carries; not checked against a trusted key (give --pub)`;
}

function printReport(out: Output, file: string, o: Extract<Outcome, { opened: true }>): void {
  const r = o.report;
  if (out.jsonMode) {
    out.json({
      file,
      opened: true,
      ...reportView(r),
      encrypted: o.crypto.encrypted,
      key: o.crypto.key,
      epoch_us: o.crypto.epochUs,
      transcript_checked: o.crypto.encrypted && (o.crypto.key === 'key-file' || o.crypto.key === 'passphrase'),
      sealed: o.seal.sealed,
      seal:
        o.seal.claim === null
          ? null
          : {
              algorithm: 'Ed25519',
              signer: o.seal.claim.signer,
              signer_signed: o.seal.claim.signerSigned,
              signed_at: o.seal.claim.signedAt,
              public_key: o.seal.claim.publicKey,
              valid: o.seal.valid,
              trusted: o.seal.trusted,
              problem: o.seal.problem,
            },
    });
    return;
  }
  const extra = [cryptoLine(o.crypto, r), sealLine(o.seal)].filter((x): x is string => x !== null);
  if (r.ok) {
    out.line(`${out.style('OK', 'green')}: ${file}: ${r.blocksChecked} of ${r.blockCount} blocks verified, chain head ${r.chainHead}`);
    for (const line of extra) out.line(`  ${line}`);
    return;
  }
  out.line(`${out.style('FAILED', 'red')}: ${file}: ${r.failures.length} problem(s) in ${r.blockCount} blocks`);
  // Messages already name the chunk, block and offset.
  for (const f of r.failures) out.line(`  ${f.code}: ${f.message}`);
  if (r.failedBlocks.length > 0) out.line(`failed core_index: ${r.failedBlocks.join(' ')}`);
  for (const line of extra) out.line(`  ${line}`);
}
