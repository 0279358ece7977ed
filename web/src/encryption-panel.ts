/**
 * Encryption: the container's parameters, and where the user gives a key,
 * a passphrase or a grant, pasted or chosen as a file. It is checked and
 * used in this page with WebCrypto, kept in memory only, and sent nowhere
 * (a chosen file is read in the page, never uploaded).
 */
import { H4mkError } from '../../src/format/errors.js';
import { parseKeyText } from '../../src/web-platform/web-cipher.js';
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
      placeholder: params.kdf.kind === 'scrypt' ? 'passphrase, or a grant file’s JSON' : 'h4mk-secret-v1 … (the key file’s line, or its base64), or a grant file’s JSON',
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
    file.addEventListener('change', () => {
      const chosen = file.files?.[0];
      file.value = '';
      if (chosen === undefined) return;
      if (chosen.size > KEY_FILE_LIMIT) {
        this.describe(`${chosen.name} is ${chosen.size} bytes: not a key or grant file`);
        return;
      }
      void chosen.text().then(unlock, (error: unknown) => this.describe(`cannot read ${chosen.name}: ${errorText(error)}`));
    });
    const kdf = params.kdf.kind === 'scrypt' ? `passphrase (scrypt N=2^${params.kdf.log2N}, r=${params.kdf.r}, p=${params.kdf.p})` : 'key file';
    const epochs = params.epochUs === 0 ? 'one key per track' : `key epochs of ${formatTime(params.epochUs)}`;
    this.describe();
    return h(
      'section',
      { class: 'encryption', 'data-testid': 'encryption' },
      h('h2', {}, 'Encryption'),
      h('p', {}, `AES-256-GCM per block · ${kdf} · ${epochs} · container id `, h('code', { class: 'key' }, hex(params.containerId)), params.engineId === '' ? '' : ` · engine ${params.engineId}`),
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
    if (w === null) replaceChildren(this.status, 'Unlocked with the container key (key check passed): every block opens.');
    else
      replaceChildren(
        this.status,
        `Unlocked with a grant for track ${w.track}, ${formatTime(w.fromUs)} – ${formatTime(w.toUs)} (epoch${w.epochs.length === 1 ? '' : 's'} ${w.epochs.join(', ')}): frames show inside this window only.`,
      );
  }
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
