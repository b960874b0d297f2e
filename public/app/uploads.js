//! The composer's attachments: files chosen with the Attach button, dropped on the conversation or
//! pasted into the message box are uploaded at once (`client.uploadFile`), each in the list above
//! the box with its name and a progress bar; an image gets a small WebP thumbnail, made here by the
//! browser and stored beside it, so the room shows a light picture and opens the full one on click.
//! Sending waits for the uploads still going and sends the message with what they answered; an
//! upload the room refused says why and stays out of the message.

import { fileSize } from '../format.js';
import { announce, button, el, ui } from './dom.js';
import { client } from './state.js';

/** Longest side of a thumbnail, in pixels. */
const THUMB_SIDE = 320;

/** The attachments of the message being written: {file, li, done: Promise<descriptor | null>}. */
let pending = [];

/** A small WebP of an image file, or null (not an image, or a browser that cannot make one). */
async function thumbnail(file) {
  if (!file.type.startsWith('image/') || typeof OffscreenCanvas !== 'function') return null;
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, THUMB_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = new OffscreenCanvas(Math.max(1, Math.round(bitmap.width * scale)), Math.max(1, Math.round(bitmap.height * scale)));
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const blob = await canvas.convertToBlob({ type: 'image/webp', quality: 0.8 });
    // A browser without a WebP encoder answers with a PNG: no thumbnail then.
    return blob.type === 'image/webp' ? blob : null;
  } catch {
    return null;
  }
}

function render() {
  ui.uploads.hidden = pending.length === 0;
  ui.uploads.replaceChildren(...pending.map((p) => p.li));
}

/** Starts uploading `files` (a FileList or an array of File). */
export function attach(files) {
  if (!client) return;
  for (const file of files) {
    const li = el('li', 'upload');
    const name = el('span', 'upload-name', file.name || 'pasted file');
    const bar = el('progress', 'upload-progress');
    bar.max = file.size || 1;
    bar.value = 0;
    bar.setAttribute('aria-label', `Uploading ${file.name || 'file'}`);
    const state = el('span', 'upload-state', fileSize(file.size));
    const entry = { file, li };
    const remove = button('Remove', () => {
      pending = pending.filter((p) => p !== entry);
      render();
    }, 'link');
    remove.setAttribute('aria-label', `Remove ${file.name || 'file'}`);
    li.append(name, bar, state, remove);
    const onProgress = ({ loaded, total }) => {
      bar.max = total || bar.max;
      bar.value = loaded;
    };
    entry.done = thumbnail(file)
      .then((thumb) => client.uploadFile(file, { onProgress, thumbnail: thumb ?? undefined }))
      .then(
        (descriptor) => {
          bar.value = bar.max;
          li.classList.add('uploaded');
          state.textContent = `${fileSize(descriptor.size)} · ready`;
          return descriptor;
        },
        (e) => {
          li.classList.add('failed');
          state.textContent = `not uploaded: ${e.message}`;
          announce(`${file.name || 'The file'} was not uploaded: ${e.message}`);
          return null;
        },
      );
    pending.push(entry);
  }
  render();
}

/** Whether the message being written has attachments. */
export function hasAttachments() {
  return pending.length > 0;
}

/**
 * The descriptors of the attachments, once every upload is done (the failed ones left out), and the
 * list cleared for the next message. Sending waits here.
 */
export async function takeAttachments() {
  const taken = pending;
  if (!taken.length) return [];
  ui.sendButton.textContent = 'Sending…';
  const files = (await Promise.all(taken.map((p) => p.done))).filter(Boolean);
  pending = pending.filter((p) => !taken.includes(p));
  ui.sendButton.textContent = 'Send';
  render();
  return files;
}

/** Drops every attachment (another room was joined). */
export function clearAttachments() {
  pending = [];
  render();
}
