/**
 * A name safe as one path component, for file and folder names derived from host names and run ids (which come
 * from inventories and flags): letters, digits and `._@-` kept, anything else (a `/`, `..`, a control character)
 * replaced by `_`, no leading dot, at most 120 characters. Never empty. Different names can map to the same
 * result (`a/b`, `a_b`): callers that need distinct names add an index.
 */
export function safeFileName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._@-]/g, '_').replace(/^\.+/, '_');
  return cleaned === '' ? '_' : cleaned.slice(0, 120);
}
