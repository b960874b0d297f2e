//! Files: uploads to the room (`POST /api/rooms/{room}/files`, docs/API.md "Files") with progress,
//! an image's thumbnail beside it, and the URLs to show or download a file. An upload answers with
//! the file's descriptor, which `send(text, {files})` puts on a message. The credentials are the
//! connection's own: its token (`Authorization: Bearer`) or, in an open room, its identity key
//! (`X-Edge-Chat-Key`, never in a URL), so the room's rules for our messages hold for our uploads.
//! Mixed into `ChatClient` (client.js).
//!
//! Progress needs `XMLHttpRequest` (a browser's), which reports the bytes sent; elsewhere (Node,
//! Deno, Workers) the upload goes by `fetch` and progress is told at the start and the end.

import { ChatError } from './errors.js';
import { quiet } from './requests.js';

/** Whether `type` is among the room's `file_types` (`type/*` takes every subtype). */
export function typeTaken(type, taken) {
  if (!Array.isArray(taken)) return true;
  const t = String(type ?? '').split(';')[0].trim().toLowerCase();
  return taken.some((p) => (p.endsWith('/*') ? t.startsWith(p.slice(0, -1)) : p === t));
}

/** The bytes of an upload as a promise of the parsed answer, by XHR (with progress) or fetch. */
function transfer(url, body, headers, onProgress) {
  const Xhr = globalThis.XMLHttpRequest;
  const total = body.size ?? body.byteLength ?? 0;
  const answer = (status, text) => {
    let parsed = null;
    try {
      parsed = JSON.parse(text);
    } catch {}
    if (status >= 200 && status < 300 && parsed) return parsed;
    // A refusal whose body did not arrive (a connection cut while the file was still going) still
    // says what it is by its status.
    const e = parsed?.error;
    const byStatus = { 0: 'offline', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 411: 'length_required', 413: 'too_large', 415: 'unsupported_type', 429: 'rate_limited' };
    throw new ChatError(e?.code ?? byStatus[status] ?? 'internal', e?.message ?? `upload failed (HTTP ${status})`);
  };
  if (typeof Xhr === 'function') {
    return new Promise((resolve, reject) => {
      const xhr = new Xhr();
      xhr.open('POST', url);
      for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (e) => onProgress?.({ loaded: e.loaded, total: e.lengthComputable ? e.total : total });
      xhr.onload = () => {
        try {
          resolve(answer(xhr.status, xhr.responseText));
        } catch (e) {
          reject(e);
        }
      };
      xhr.onerror = () => reject(new ChatError('offline', 'the upload did not reach the server'));
      xhr.send(body);
    });
  }
  onProgress?.({ loaded: 0, total });
  return fetch(url, { method: 'POST', headers, body }).then(
    async (res) => {
      const parsed = answer(res.status, await res.text());
      onProgress?.({ loaded: total, total });
      return parsed;
    },
    () => {
      throw new ChatError('offline', 'the upload did not reach the server');
    },
  );
}

/** @satisfies {ThisType<import('./client.js').ChatClient>} */
export const files = {
  /** The credentials of an upload: our token, or our identity key in an open room. */
  uploadHeaders() {
    if (this.token) return { authorization: `Bearer ${this.token}` };
    if (this.key) return { 'x-edge-chat-key': this.key };
    return {};
  },

  /** Where file `file` (a descriptor or an id) of this room is served; its thumbnail with `thumb`. */
  fileUrl(file, { thumb = false } = {}) {
    const id = typeof file === 'string' ? file : file.id;
    const u = new URL(`/api/rooms/${encodeURIComponent(this.room)}/files/${id}${thumb ? '/thumb' : ''}`, this.origin);
    // A private room's files need the read right; an <img> can send no header, so the token goes in
    // the URL (as for the history API).
    if (this.token) u.searchParams.set('token', this.token);
    return u.toString();
  },

  /**
   * Uploads `file` (a Blob or File; or bytes with `name` and `type`) to the room and resolves with its
   * descriptor `{id, name, type, size, width?, height?, thumb?}`, to send with a message. Options:
   * `onProgress({loaded, total})`; `name`, `type` (default: the File's own); `thumbnail`: a small
   * WebP Blob of an image, stored beside it (the descriptor then says `thumb: true`; a thumbnail the
   * room refuses leaves the file without one). Rejects with a ChatError: `too_large` or
   * `unsupported_type` before anything is sent when `welcome.limits` already says so, else the
   * room's refusal (`banned`, `muted`, `slow_mode`, `unauthorized`, …).
   * @param {any} file
   * @param {{onProgress?: (p: {loaded: number, total: number}) => void, name?: string, type?: string, thumbnail?: Blob}} [options]
   */
  uploadFile(file, { onProgress, name, type, thumbnail } = {}) {
    const fileName = name ?? file?.name ?? 'file';
    const fileType = type ?? file?.type ?? 'application/octet-stream';
    const size = file?.size ?? file?.byteLength ?? 0;
    const refuse = (code, message) => quiet(Promise.reject(new ChatError(code, message)));
    if (this.limits.file_bytes && size > this.limits.file_bytes) {
      return refuse('too_large', `the file is larger than ${this.limits.file_bytes} bytes`);
    }
    if (!typeTaken(fileType, /** @type {any} */ (this.limits).file_types)) return refuse('unsupported_type', `files of type ${fileType} are not taken here`);
    const headers = { ...this.uploadHeaders(), 'content-type': fileType };
    const base = new URL(`/api/rooms/${encodeURIComponent(this.room)}/files`, this.origin);
    const url = `${base}?name=${encodeURIComponent(fileName)}`;
    return quiet(
      transfer(url, file, headers, onProgress).then(async ({ file: descriptor }) => {
        if (!thumbnail || !descriptor?.width) return descriptor;
        const thumbHeaders = { ...this.uploadHeaders(), 'content-type': 'image/webp' };
        try {
          const done = await transfer(`${base}/${descriptor.id}/thumb`, thumbnail, thumbHeaders);
          return done.file ?? descriptor;
        } catch {
          return descriptor;
        }
      }),
    );
  },
};
