/**
 * Encryption: the container's parameters, and where the user gives a key,
 * a passphrase or a grant, pasted or chosen as a file. It is checked and
 * used in this page with WebCrypto, kept in memory only, and sent nowhere
 * (a chosen file is read in the page, never uploaded).
 */
import { H4mkError, parseKeyText, toHex } from 'h4mk/web';
import { errorText, formatTime, h, replaceChildren } from './dom.js';
import type { Session } from './session.js';

/** Largest key or grant file read (grants list a few keys; key files are one line). */
const KEY_FILE_LIMIT = 1024 * 1024;

export class EncryptionPanel {
  readonly status = h('p', { class: 'key-status', 'data-testid': 'key-status' });
  readonly element: HTMLElement | null;

  constructor(
    private readonly session: Session,
    /** The key changed (unlocked, or forgotten). */
    private readonly onChange: () => void,
  ) {
    this.element = this.render();
  }

  private render(): HTMLElement | null {
    const params = this.session.reader.cryptoParams;
    if (params === null) return null;
    const input = h('textarea', {
      class: 'key-input',
      'data-testid': 'key-input',
      rows: 3,
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder:
        params.kdf.kind === 'scrypt' ? 'passphrase, or a grant file’s JSON' : 'h4mk-secret-v1 … (the key file’s line, or its base64), or a grant file’s JSON',
    });
    const unlock = async (text: string): Promise<void> => {
      try {
        replaceChildren(this.status, 'Checking the key…');
        await this.session.unlock(parseKeyText(text, params));
        this.describe();
        this.onChange();
      } catch (error) {
        this.session.lock();
        this.describe(error instanceof H4mkError && error.code === 'E_KEY' ? error.message : errorText(error));
        this.onChange();
      }
    };
    const fromInput = (): void => {
      const text = input.value;
      // The key is not kept in the page's DOM once read.
      input.value = '';
      void unlock(text);
    };
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) fromInput();
    });
    const file = h('input', { type: 'file', 'data-testid': 'key-file', 'aria-label': 'key or grant file' });
    const fromFile = (chosen: File): void => {
      if (chosen.size > KEY_FILE_LIMIT) {
        this.describe(`${chosen.name} is ${chosen.size} bytes: not a key or grant file`);
        return;
      }
      void chosen.text().then(unlock, (error: unknown) => this.describe(`cannot read ${chosen.name}: ${errorText(error)}`));
    };
    file.addEventListener('change', () => {
      const chosen = file.files?.[0];
      file.value = '';
      if (chosen !== undefined) fromFile(chosen);
    });
    const kdf = params.kdf.kind === 'scrypt' ? `passphrase (scrypt N=2^${params.kdf.log2N}, r=${params.kdf.r}, p=${params.kdf.p})` : 'key file';
    const epochs = params.epochUs === 0 ? 'one key per track' : `key epochs of ${formatTime(params.epochUs)}`;
    this.describe();
    const section = h(
      'section',
      { class: 'encryption', 'data-testid': 'encryption' },
      h('h2', {}, 'Encryption'),
      h(
        'p',
        {},
        `AES-256-GCM per block · ${kdf} · ${epochs} · container id `,
        h('code', { class: 'key' }, toHex(params.containerId)),
        params.engineId === '' ? '' : ` · engine ${params.engineId}`,
      ),
      h(
        'p',
        { class: 'muted small' },
        'The index, tracks and timelines need no key. To see frames and play, paste the key or a grant, or choose the key or grant file: it is checked and used in this page with WebCrypto, kept in memory only, and never sent anywhere.',
      ),
      input,
      h(
        'div',
        { class: 'key-buttons' },
        h('button', { type: 'button', 'data-testid': 'unlock', onclick: fromInput }, 'Unlock'),
        h('label', { class: 'file-button key-file' }, 'Choose a key or grant file…', file),
        h(
          'button',
          {
            type: 'button',
            'data-testid': 'lock',
            onclick: () => {
              this.session.lock();
              this.describe();
              this.onChange();
            },
          },
          'Forget the key',
        ),
      ),
      this.status,
    );
    // A key or grant file dropped on this panel unlocks (elsewhere, a dropped file opens as a container).
    section.addEventListener('dragover', (event) => {
      if (!event.dataTransfer?.types.includes('Files')) return;
      event.preventDefault();
      event.stopPropagation();
      section.dataset.drop = 'true';
    });
    section.addEventListener('dragleave', () => delete section.dataset.drop);
    section.addEventListener('drop', (event) => {
      event.preventDefault();
      event.stopPropagation();
      delete section.dataset.drop;
      const chosen = event.dataTransfer?.files[0];
      if (chosen !== undefined) fromFile(chosen);
    });
    return section;
  }

  /** What the grant decodes, µs (null: no grant, or no keyframe inside it). */
  effectiveWindow(): { fromUs: number; toUs: number } | null {
    return effectiveWindowOf(this.session);
  }

  describe(error?: string): void {
    const cipher = this.session.cipher;
    this.status.dataset.state = error !== undefined ? 'error' : cipher === null ? 'locked' : cipher.kind;
    if (error !== undefined) {
      replaceChildren(this.status, h('span', { class: 'error' }, error));
      return;
    }
    if (cipher === null) {
      replaceChildren(this.status, 'Locked: index and timelines only.');
      return;
    }
    const w = cipher.grantWindow;
    if (w === null) {
      replaceChildren(this.status, 'Unlocked with the container key (key check passed): every block opens.');
      return;
    }
    const effective = this.effectiveWindow();
    const frames =
      effective === null
        ? 'no frame of it decodes: no keyframe of the track lies inside its keys (h4mk grant widens a window to its keyframe)'
        : `frames decode from ${formatTime(effective.fromUs)} (the first keyframe its keys open) to ${formatTime(effective.toUs)}`;
    this.status.dataset.effectiveFromUs = effective === null ? '' : String(effective.fromUs);
    this.status.dataset.effectiveToUs = effective === null ? '' : String(effective.toUs);
    replaceChildren(
      this.status,
      `Unlocked with a grant for track ${w.track}, ${formatTime(w.fromUs)} – ${formatTime(w.toUs)} (epoch${w.epochs.length === 1 ? '' : 's'} ${w.epochs.join(', ')}): ${frames}.`,
    );
  }
}

/**
 * The span whose frames a grant decodes: from the first keyframe (named by
 * the index) its keys open, to the end of the keys' epochs (or of the
 * track). Null when no keyframe lies inside, or there is no grant.
 */
function effectiveWindowOf(session: Session): { fromUs: number; toUs: number } | null {
  const cipher = session.cipher;
  const w = cipher?.grantWindow ?? null;
  if (cipher === null || w === null) return null;
  const track = session.reader.tracks()[w.trackNumber];
  if (track === undefined) return null;
  const key = session.reader.indexKeyframes(w.trackNumber).find((k) => cipher.covers({ trackNumber: w.trackNumber, ptsUs: k.ptsUs }));
  if (key === undefined) return null;
  const epochUs = session.reader.cryptoParams?.epochUs ?? 0;
  const lastEpoch = Math.max(...w.epochs);
  const end = epochUs === 0 ? (track.lastPtsUs ?? key.ptsUs) : Math.min(track.lastPtsUs ?? Number.POSITIVE_INFINITY, (lastEpoch + 1) * epochUs);
  return { fromUs: key.ptsUs, toUs: end };
}
