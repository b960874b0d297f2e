//! What an upload's first bytes say it is. A file declared as one of the raster images a browser
//! shows ([`Raster`]) must start with that format's signature ("magic bytes"), or it is refused with
//! 415: a page shows such files inline, so a file must not be able to claim a type it is not. The
//! same bytes give the image's width and height, when its header holds them within the bytes read
//! ([`SNIFF_BYTES`]: a JPEG's size comes after its metadata segments, which may be long).
//!
//! Other types are not looked into (a PDF, a zip, plain text): they are served as attachments, with
//! `nosniff` and a sandbox (see [`super::serve`]), so what they hold never runs on the chat's origin.

use crate::error::{ErrorCode, Problem};

/// How many bytes of an upload are read before it is stored, to check and measure an image.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// Largest side an image is believed to have; a header saying more is not trusted for its size.
const MAX_SIDE: u32 = 100_000;

/// The raster images whose bytes are checked, and which are shown inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raster {
    Png,
    Jpeg,
    Gif,
    Webp,
    Avif,
    Bmp,
}

impl Raster {
    /// The raster format a media type names, if it is one of those checked.
    pub fn of_type(content_type: &str) -> Option<Raster> {
        Some(match content_type {
            "image/png" => Raster::Png,
            "image/jpeg" => Raster::Jpeg,
            "image/gif" => Raster::Gif,
            "image/webp" => Raster::Webp,
            "image/avif" => Raster::Avif,
            "image/bmp" => Raster::Bmp,
            _ => return None,
        })
    }

    /// The format `head` (a file's first bytes) has the signature of, if any.
    pub fn detect(head: &[u8]) -> Option<Raster> {
        let at = |i: usize, sig: &[u8]| head.get(i..i + sig.len()) == Some(sig);
        if at(0, b"\x89PNG\r\n\x1a\n") {
            Some(Raster::Png)
        } else if at(0, b"\xff\xd8\xff") {
            Some(Raster::Jpeg)
        } else if at(0, b"GIF87a") || at(0, b"GIF89a") {
            Some(Raster::Gif)
        } else if at(0, b"RIFF") && at(8, b"WEBP") {
            Some(Raster::Webp)
        } else if at(4, b"ftypavif") || at(4, b"ftypavis") {
            Some(Raster::Avif)
        } else if at(0, b"BM") && head.len() >= 26 {
            Some(Raster::Bmp)
        } else {
            None
        }
    }
}

/// An image's size in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

/// Checks an upload's first bytes against its declared media type: for a [`Raster`] type they must
/// have its signature (415 `unsupported_type` if not), and the image's size is returned when its
/// header tells it; any other type passes unread.
pub fn check(content_type: &str, head: &[u8]) -> Result<Option<Size>, Problem> {
    let Some(declared) = Raster::of_type(content_type) else {
        return Ok(None);
    };
    if Raster::detect(head) != Some(declared) {
        return Err(Problem::new(
            ErrorCode::UnsupportedType,
            format!("the file's bytes are not a {content_type} image"),
        ));
    }
    Ok(size(declared, head)
        .filter(|s| (1..=MAX_SIDE).contains(&s.width) && (1..=MAX_SIDE).contains(&s.height)))
}

fn be16(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes(
        b.get(i..i + 2)?.try_into().ok()?,
    )))
}

fn le16(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes(
        b.get(i..i + 2)?.try_into().ok()?,
    )))
}

fn be32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

fn le24(b: &[u8], i: usize) -> Option<u32> {
    let s = b.get(i..i + 3)?;
    Some(u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
}

fn le32i(b: &[u8], i: usize) -> Option<i32> {
    Some(i32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// The pixel size in a `format` header, when `head` holds it.
fn size(format: Raster, head: &[u8]) -> Option<Size> {
    let (width, height) = match format {
        // IHDR is the first chunk: width and height big-endian at 16 and 20.
        Raster::Png => (be32(head, 16)?, be32(head, 20)?),
        // The logical screen's width and height, little-endian, after the 6-byte signature.
        Raster::Gif => (le16(head, 6)?, le16(head, 8)?),
        Raster::Webp => webp_size(head)?,
        Raster::Jpeg => jpeg_size(head)?,
        Raster::Bmp => (
            le32i(head, 18)?.unsigned_abs(),
            le32i(head, 22)?.unsigned_abs(),
        ),
        // The size is in an `ispe` box somewhere in the metadata: not looked for.
        Raster::Avif => return None,
    };
    Some(Size { width, height })
}

/// A WebP's size from its first chunk: lossy (`VP8 `), lossless (`VP8L`) or extended (`VP8X`).
fn webp_size(b: &[u8]) -> Option<(u32, u32)> {
    match b.get(12..16)? {
        b"VP8 " => {
            // A key frame: 3-byte frame tag, the start code 9d 01 2a, then 14-bit sizes.
            if b.get(23..26)? != b"\x9d\x01\x2a" {
                return None;
            }
            Some((le16(b, 26)? & 0x3fff, le16(b, 28)? & 0x3fff))
        }
        b"VP8L" => {
            if *b.get(20)? != 0x2f {
                return None;
            }
            let bits = u32::from_le_bytes(b.get(21..25)?.try_into().ok()?);
            Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
        }
        b"VP8X" => Some((le24(b, 24)? + 1, le24(b, 27)? + 1)),
        _ => None,
    }
}

/// A JPEG's size from its first start-of-frame segment, walking the segments before it.
fn jpeg_size(b: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    loop {
        // Markers may be padded with any number of 0xff.
        while *b.get(i)? == 0xff && *b.get(i + 1)? == 0xff {
            i += 1;
        }
        if *b.get(i)? != 0xff {
            return None;
        }
        let marker = *b.get(i + 1)?;
        match marker {
            // SOF0–SOF15, except DHT (c4), JPG (c8) and DAC (cc): height, then width.
            0xc0..=0xcf if !matches!(marker, 0xc4 | 0xc8 | 0xcc) => {
                return Some((be16(b, i + 7)?, be16(b, i + 5)?));
            }
            // Start of scan or end of image before any frame: no size to be had.
            0xda | 0xd9 => return None,
            // Standalone markers carry no length.
            0x01 | 0xd0..=0xd7 => i += 2,
            _ => i += 2 + be16(b, i + 2)? as usize,
        }
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// The first bytes of a `width`×`height` PNG.
    pub fn png(width: u32, height: u32) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        b.extend(width.to_be_bytes());
        b.extend(height.to_be_bytes());
        b.extend([8, 6, 0, 0, 0]);
        b
    }

    #[test]
    fn images_must_be_what_they_claim() {
        assert_eq!(
            check("image/png", &png(640, 480)),
            Ok(Some(Size {
                width: 640,
                height: 480
            }))
        );
        for (ty, bytes) in [
            ("image/png", b"<svg onload=alert(1)>".to_vec()),
            ("image/jpeg", png(1, 1)),
            ("image/gif", b"GIF90a".to_vec()),
            ("image/webp", b"RIFF\0\0\0\0WAVE".to_vec()),
            ("image/png", Vec::new()),
        ] {
            assert_eq!(
                check(ty, &bytes).unwrap_err().code,
                ErrorCode::UnsupportedType,
                "{ty}"
            );
        }
        // Types that are not checked pass whatever they hold.
        assert_eq!(check("application/pdf", b"anything"), Ok(None));
        assert_eq!(check("text/plain", b"<script>"), Ok(None));
    }

    #[test]
    fn sizes_come_from_each_formats_header() {
        let gif = b"GIF89a\x40\x01\xf0\x00".to_vec();
        assert_eq!(
            check("image/gif", &gif),
            Ok(Some(Size {
                width: 320,
                height: 240
            }))
        );
        let mut vp8 = b"RIFF\0\0\0\0WEBPVP8 \0\0\0\0\0\0\0\x9d\x01\x2a".to_vec();
        vp8.extend([0x90, 0x01, 0xc8, 0x00]); // 400 x 200
        assert_eq!(
            check("image/webp", &vp8),
            Ok(Some(Size {
                width: 400,
                height: 200
            }))
        );
        let mut vp8x = b"RIFF\0\0\0\0WEBPVP8X\0\0\0\0\0\0\0\0".to_vec();
        vp8x.extend([0x1f, 0x03, 0x00, 0xdf, 0x01, 0x00]); // 800 x 480
        assert_eq!(
            check("image/webp", &vp8x),
            Ok(Some(Size {
                width: 800,
                height: 480
            }))
        );
        let mut vp8l = b"RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2f".to_vec();
        let bits: u32 = (100 - 1) | ((50 - 1) << 14);
        vp8l.extend(bits.to_le_bytes());
        assert_eq!(
            check("image/webp", &vp8l),
            Ok(Some(Size {
                width: 100,
                height: 50
            }))
        );
        // A JPEG with an APP0 segment, then SOF2 (progressive): 1024 x 768.
        let mut jpeg = vec![0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10];
        jpeg.extend([0; 14]);
        jpeg.extend([0xff, 0xff, 0xc2, 0x00, 0x11, 0x08, 0x03, 0x00, 0x04, 0x00]);
        assert_eq!(
            check("image/jpeg", &jpeg),
            Ok(Some(Size {
                width: 1024,
                height: 768
            }))
        );
        // Its frame beyond the bytes read: a JPEG all the same, size unknown.
        assert_eq!(check("image/jpeg", &jpeg[..12]), Ok(None));
        let mut bmp = b"BM".to_vec();
        bmp.extend([0; 16]);
        bmp.extend(20i32.to_le_bytes());
        bmp.extend((-10i32).to_le_bytes());
        assert_eq!(
            check("image/bmp", &bmp),
            Ok(Some(Size {
                width: 20,
                height: 10
            }))
        );
        // Nonsense sizes are not believed.
        assert_eq!(check("image/png", &png(0, 5)), Ok(None));
        assert_eq!(check("image/png", &png(5, u32::MAX)), Ok(None));
    }

    #[test]
    fn truncated_or_hostile_headers_never_panic() {
        let jpeg_loop = [0xff, 0xd8, 0xff, 0xe0, 0x00, 0x00, 0xff, 0xe0];
        assert_eq!(check("image/jpeg", &jpeg_loop), Ok(None));
        for n in 0..40 {
            let mut b = png(3, 3);
            b.truncate(n);
            let _ = check("image/png", &b);
            let _ = size(
                Raster::Webp,
                &b"RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2f"[..n.min(21)],
            );
        }
    }
}
