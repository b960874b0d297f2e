//! What a message carries besides its text: its files — images as thumbnails that open the full
//! picture in the lightbox, anything else as a chip with its name, size and type that downloads it —
//! and the preview card of its first link (the page's title, description and site, as text; our own
//! message's card can be removed). Files come from the room's own origin (`client.fileUrl`), so the
//! page's CSP (`img-src 'self'`) lets them in; a preview's image is another site's and is not loaded.

import { fileSize, fitted } from '../format.js';
import { button, el } from './dom.js';
import { client } from './state.js';

const lightbox = document.getElementById('lightbox');
const lightboxImage = document.getElementById('lightbox-image');
const lightboxCaption = document.getElementById('lightbox-caption');

/** Opens `file` (an image) full size in the lightbox. */
function open(file) {
  lightboxImage.src = client.fileUrl(file);
  lightboxImage.alt = file.name;
  lightboxImage.width = file.width ?? 0;
  lightboxImage.height = file.height ?? 0;
  lightboxCaption.textContent = `${file.name} · ${file.width}×${file.height} · ${fileSize(file.size)}`;
  lightbox.showModal();
}

lightbox?.addEventListener('close', () => lightboxImage.removeAttribute('src'));
// A click on the dimmed backdrop (the dialog itself, not its content) closes it too.
lightbox?.addEventListener('click', (e) => e.target === lightbox && lightbox.close());

/** A shown image: the room measured it, so its bytes are the image type it says. */
const isImage = (f) => f.type.startsWith('image/') && f.width > 0 && f.height > 0;

/** The files of `m` as thumbnails and chips, or null when it has none. */
export function filesBlock(m) {
  if (!m.files?.length) return null;
  const box = el('div', 'files');
  for (const file of m.files) {
    if (typeof file?.id !== 'string') continue;
    if (isImage(file)) {
      const { width, height } = fitted(file.width, file.height);
      const img = el('img', 'thumb');
      img.src = client.fileUrl(file, { thumb: Boolean(file.thumb) });
      img.alt = file.name;
      img.width = width;
      img.height = height;
      img.loading = 'lazy';
      const b = button('', () => open(file), 'file-image');
      b.title = `Open ${file.name}`;
      b.append(img);
      box.append(b);
    } else {
      const chip = el('a', 'file-chip');
      chip.href = client.fileUrl(file);
      chip.download = file.name;
      chip.append(el('span', 'file-name', file.name ?? file.id), el('span', 'file-meta', [file.size != null ? fileSize(file.size) : '', file.type].filter(Boolean).join(' · ')));
      box.append(chip);
    }
  }
  return box;
}

/** The preview card of `m`'s link, or null. `own`: ours, so it can be removed. */
export function previewCard(m, own) {
  const p = m.preview;
  if (!p?.url || !/^https?:\/\//i.test(p.url)) return null;
  const card = el('div', 'preview');
  const link = el('a', 'preview-link');
  link.href = p.url;
  link.rel = 'noopener noreferrer';
  link.target = '_blank';
  link.append(el('span', 'preview-site', p.site));
  if (p.title) link.append(el('strong', 'preview-title', p.title));
  if (p.description) link.append(el('span', 'preview-description', p.description));
  card.append(link);
  if (own && client.identified) {
    const remove = button('Remove preview', () => client.removePreview(m.seq), 'link preview-remove');
    remove.dataset.key = 'remove-preview';
    card.append(remove);
  }
  return card;
}
