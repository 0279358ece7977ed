/**
 * Container names: the only part of a request that becomes part of a path.
 *
 * A name is one path segment of ASCII letters, digits, `.`, `_` and `-`,
 * starting with a letter or digit, at most 255 bytes. So no name can be
 * `.` or `..`, hold a `/` or `\` (decoded `%2F` included: the router decodes
 * before we check), a NUL, a drive letter or an absolute path, and none
 * collides with the server's temporary files (which start with `.`).
 * Symlinks are checked separately, on the resolved path (store plugin).
 */
import { HttpError } from './errors.js';

/** JSON-schema pattern of a container name (also used in the OpenAPI document). */
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$';
const NAME = new RegExp(NAME_PATTERN);

/** True when `name` is an acceptable container name. */
export function isValidName(name: unknown): name is string {
  return typeof name === 'string' && NAME.test(name);
}

/** `name` if acceptable, else an `E_BAD_NAME` error (the name is not echoed back). */
export function checkName(name: unknown): string {
  if (!isValidName(name)) {
    throw new HttpError('E_BAD_NAME', 'a container name is 1-255 characters from A-Z a-z 0-9 . _ - and starts with a letter or digit');
  }
  return name;
}
