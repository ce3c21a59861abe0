/** Very short values would blank ordinary words; no real token or client secret is that short. */
const MIN_SECRET_LENGTH = 8;

/**
 * Remembers every secret the run handles and blanks it out of anything shown or written to a log.
 * A fleet run adds one client secret per subscription, so secrets are found by their first characters
 * in one pass over the text: redacting costs the same with 5,000 secrets as with one.
 */
export class Redactor {
  /** The secrets by their first MIN_SECRET_LENGTH characters, longest first. */
  readonly #byPrefix = new Map<string, string[]>();

  add(secret: string | undefined): void {
    if (!secret || secret.length < MIN_SECRET_LENGTH) return;
    const prefix = secret.slice(0, MIN_SECRET_LENGTH);
    const known = this.#byPrefix.get(prefix) ?? [];
    if (known.includes(secret)) return;
    this.#byPrefix.set(
      prefix,
      [...known, secret].sort((a, b) => b.length - a.length),
    );
  }

  redact(text: string): string {
    if (this.#byPrefix.size === 0) return text;
    let out = '';
    let copied = 0;
    for (let at = 0; at + MIN_SECRET_LENGTH <= text.length; ) {
      const secret = this.#byPrefix.get(text.slice(at, at + MIN_SECRET_LENGTH))?.find((s) => text.startsWith(s, at));
      if (secret === undefined) {
        at++;
        continue;
      }
      out += `${text.slice(copied, at)}***`;
      at += secret.length;
      copied = at;
    }
    return copied === 0 ? text : out + text.slice(copied);
  }
}
