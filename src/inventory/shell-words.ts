/**
 * POSIX shell word splitting, as Python's `shlex.split(s, comments=True)` does it. Ansible splits INI host
 * lines this way, and ssh argument strings (`ansible_ssh_common_args`) need the same treatment.
 */

export type WordsResult = { ok: true; words: string[] } | { ok: false; error: string };

/** Splits on unquoted whitespace; `'…'` is literal, `"…"` and bare words honour `\`; `#` at a word start ends the line. */
export function shellWords(text: string, options: { comments?: boolean } = {}): WordsResult {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else if (c === '#' && !inWord && options.comments) {
      break;
    } else if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) return { ok: false, error: 'unclosed single quote' };
      word += text.slice(i + 1, close);
      inWord = true;
      i = close + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < text.length) {
        const d = text[i]!;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\\' && i + 1 < text.length && '"\\$`\n'.includes(text[i + 1]!)) {
          word += text[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
      if (!closed) return { ok: false, error: 'unclosed double quote' };
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[i + 1];
      inWord = true;
      i += 2;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return { ok: true, words };
}
