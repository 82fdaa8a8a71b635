// Reading a webhook body: at most `max` bytes, whatever Content-Length claims
// (it may be absent or lie), decoded as UTF-8 once. The bytes are what the
// signature covers; the text is what gets parsed.

export type BodyRead =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly tooLarge: true; readonly max: number };

export async function readBody(request: Request, max: number): Promise<BodyRead> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > max) {
    await request.body?.cancel().catch(() => {});
    return { ok: false, tooLarge: true, max };
  }
  if (request.body === null) return { ok: true, text: '' };
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return { ok: false, tooLarge: true, max };
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { ok: true, text: new TextDecoder().decode(bytes) };
}

/**
 * The JSON a sender meant: GitHub may post `application/x-www-form-urlencoded` with the JSON
 * in a `payload` field; everyone else posts JSON. Null when it is not JSON.
 */
export function bodyJson(text: string, contentType: string | null): unknown {
  let json = text;
  if ((contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded'))
    json = new URLSearchParams(text).get('payload') ?? '';
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}
