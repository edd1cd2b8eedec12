/**
 * The first key that appears twice in one object of a valid JSON text, or null. JSON.parse keeps the last of
 * them silently, so `{"loanId":"D-1","loanId":"D-2"}` would mean D-2 to us and maybe D-1 to whoever wrote it.
 */
export function duplicateKey(text: string): string | null {
  // One entry per open object (its keys so far) or array (null).
  const open: (Set<string> | null)[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      let after = end + 1;
      while (after < text.length && /\s/.test(text[after] as string)) after++;
      const keys = open.at(-1);
      if (text[after] === ":" && keys) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      i = end;
    } else if (c === "{") open.push(new Set());
    else if (c === "[") open.push(null);
    else if (c === "}" || c === "]") open.pop();
  }
  return null;
}
