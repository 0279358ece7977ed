/**
 * Origin mode: containers read from a remote HTTP origin (`origin/NAME`)
 * through {@link HttpSource}, read-only. A cached reader is simply opened
 * again once `revalidateMs` has passed: the ETag of what it finds says
 * whether anything changed.
 */
import { H4mkReader, HttpSource, isH4mkError } from '../../node.js';
import type { ContainerSource } from './cache.js';
import { containerEtag, Entry } from './entry.js';
import { StoreError } from './errors.js';

export class RemoteOrigin implements ContainerSource {
  readonly followsGrowth = false;

  constructor(
    private readonly origin: URL,
    private readonly headers: Record<string, string>,
  ) {}

  async open(name: string): Promise<Entry> {
    const url = new URL(encodeURIComponent(name), this.origin);
    const source = await HttpSource.open(url, { headers: this.headers });
    try {
      const reader = await H4mkReader.open(source);
      return new Entry(name, reader, await containerEtag(reader), null);
    } catch (error) {
      await source.close();
      if (isH4mkError(error, 'E_NOT_FOUND')) throw new StoreError('E_NOT_FOUND', 'no such container');
      throw error;
    }
  }

  async stillCurrent(): Promise<boolean> {
    return false;
  }
}
