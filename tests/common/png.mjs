// Real image files for the file tests: a PNG of any size and colour (zlib and CRC-32 from Node), so
// a browser can decode it, and a server can read its size from its header as any PNG's.

import zlib from 'node:zlib';

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body) >>> 0);
  return Buffer.concat([length, body, crc]);
}

/** A `width`×`height` PNG, one RGB colour (`[r, g, b]`), optionally padded with `pad` bytes of noise. */
export function png(width, height, [r, g, b] = [200, 40, 90], pad = 0) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  const row = Buffer.alloc(1 + width * 3);
  for (let x = 0; x < width; x++) row.set([r, g, b], 1 + x * 3);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  const chunks = [chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw))];
  // Ancillary noise (a `tEXt`-like private chunk) makes a file of a chosen size that still decodes.
  if (pad > 0) chunks.push(chunk('noIS', Buffer.alloc(pad, 7)));
  chunks.push(chunk('IEND', Buffer.alloc(0)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ...chunks]);
}
