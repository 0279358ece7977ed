/**
 * Integrity: VERI (checked at open), the seal (Ed25519, checked here with
 * WebCrypto) and a full verification of every block through range requests.
 */
import { errorText, formatBytes, formatInteger, h, replaceChildren } from './dom.js';
import { toHex } from 'h4mk/web';
import { checkSeal } from './integrity.js';
import type { Session } from './session.js';

export function integritySection(session: Session, onRead: () => void): HTMLElement {
  const reader = session.reader;
  const v = reader.integrity;
  const sealLine = h('p', { 'data-testid': 'seal-status' }, 'Seal: checking…');
  const verifyOut = h('p', { 'data-testid': 'verify-result', class: 'small' });
  const verifyButton = h('button', { type: 'button', 'data-testid': 'verify' }, 'Verify every block');
  verifyButton.addEventListener('click', () => {
    verifyButton.disabled = true;
    replaceChildren(verifyOut, 'Verifying: reading the whole file…');
    void session
      .measured(() => reader.verify())
      .then(
        ({ value: report, requests, bytes, ms }) => {
          const cost = `${requests} ${session.origin === 'http' ? 'requests' : 'reads'}, ${formatBytes(bytes)}, ${(ms / 1000).toFixed(2)} s`;
          replaceChildren(
            verifyOut,
            report.ok
              ? h('span', { class: 'badge ok' }, `OK: ${formatInteger(report.blocksChecked)} blocks, every CRC, digest and the chain head`)
              : h('span', { class: 'badge bad' }, `FAILED: ${report.failures.length} problem(s), blocks ${report.failedBlocks.slice(0, 20).join(', ')}`),
            ` (${cost})`,
          );
          verifyOut.dataset.ok = String(report.ok);
          onRead();
        },
        (error: unknown) => replaceChildren(verifyOut, h('span', { class: 'error' }, errorText(error))),
      )
      .finally(() => {
        verifyButton.disabled = false;
      });
  });
  void checkSeal(reader).then((s) => {
    if (s.state === 'none') {
      replaceChildren(sealLine, 'Seal: none (the container is not signed).');
    } else {
      const when = new Date(s.signedAt * 1000).toISOString().replace('.000Z', 'Z');
      const badge =
        s.state === 'valid'
          ? h('span', { class: 'badge ok' }, 'signature valid')
          : s.state === 'invalid'
            ? h('span', { class: 'badge bad' }, 'signature INVALID')
            : h('span', { class: 'badge' }, 'signature not checked');
      replaceChildren(
        sealLine,
        'Seal: Ed25519 by ',
        h('strong', {}, s.signer || 'anonymous'),
        ` at ${when} · `,
        badge,
        s.reason === undefined ? '' : ` (${s.reason})`,
        ' · public key ',
        h('code', { class: 'key' }, s.publicKey),
      );
    }
    sealLine.dataset.state = s.state;
  });
  return h(
    'section',
    { class: 'integrity', 'data-testid': 'integrity' },
    h('h2', {}, 'Integrity'),
    h(
      'p',
      { 'data-testid': 'veri-status' },
      `VERI: ${formatInteger(v.blockCount)} blocks in ${formatInteger(v.segmentCount)} segments · chain head `,
      h('code', {}, toHex(v.chainHead)),
      ' · index digest ',
      h('span', { class: 'badge ok' }, 'checked at open'),
    ),
    sealLine,
    h('p', {}, verifyButton, ' ', h('span', { class: 'muted small' }, 'reads every byte: CRCs, block digests, segment tables, the hash chain')),
    verifyOut,
  );
}
