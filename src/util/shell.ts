const SAFE_WORD = /^[A-Za-z0-9_./:=@%+,-]+$/;

/** POSIX shell quoting: the result is always one word, bare when only safe characters, otherwise single-quoted. */
export function shellQuote(value: string): string {
  if (value.length > 0 && SAFE_WORD.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
