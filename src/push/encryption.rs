//! RFC 8291 (Message Encryption for Web Push) over RFC 8188's `aes128gcm` content coding: the key
//! schedule and the bytes on the wire. The two operations that need a curve or a cipher — the ECDH
//! shared secret and AES-128-GCM — are the runtime's Web Crypto, done by the glue
//! (`worker/webpush.rs`); the HKDF steps are HMAC-SHA-256, which the wasm already carries for signed
//! tokens, so the whole schedule is here and tested on the host.
//!
//! Per push: a fresh ephemeral P-256 key pair (`as_*`) and a fresh 16-byte salt, so no (key, nonce)
//! pair is ever used twice.
//!
//! ```text
//! PRK_key = HMAC(auth_secret, ecdh_secret)
//! IKM     = HMAC(PRK_key, "WebPush: info" 0x00 ua_public as_public 0x01)
//! PRK     = HMAC(salt, IKM)
//! CEK     = HMAC(PRK, "Content-Encoding: aes128gcm" 0x00 0x01)[..16]
//! NONCE   = HMAC(PRK, "Content-Encoding: nonce" 0x00 0x01)[..12]
//! body    = salt(16) ‖ rs(4, big-endian) ‖ idlen(1)=65 ‖ as_public(65) ‖ AES-GCM(CEK, NONCE, text ‖ 0x02)
//! ```

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::settings::PUBLIC_KEY_LEN;
use super::subscription::AUTH_LEN;

/// The salt of one push (RFC 8188 §2.1).
pub const SALT_LEN: usize = 16;
/// The record size announced in the header: one record holds the whole message.
pub const RECORD_SIZE: u32 = 4096;
/// The header before the ciphertext: salt, rs, idlen and the ephemeral public key.
pub const HEADER_LEN: usize = SALT_LEN + 4 + 1 + PUBLIC_KEY_LEN;
/// AES-GCM's tag.
pub const TAG_LEN: usize = 16;
/// RFC 8291 §4: push services need only accept 4,096 bytes of body, so the plaintext is at most
/// 4096 − 86 (header) − 16 (tag) − 1 (delimiter) = 3,993 bytes.
pub const MAX_PLAINTEXT: usize = 4096 - HEADER_LEN - TAG_LEN - 1;

/// The content encryption key and nonce of one push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    pub cek: [u8; 16],
    pub nonce: [u8; 12],
}

/// Derives the CEK and nonce from the ECDH secret (as_private × ua_public) and the subscription's
/// authentication secret, binding both public keys (RFC 8291 §3.3–3.4).
pub fn derive(
    ecdh_secret: &[u8],
    auth: &[u8; AUTH_LEN],
    ua_public: &[u8; PUBLIC_KEY_LEN],
    as_public: &[u8; PUBLIC_KEY_LEN],
    salt: &[u8; SALT_LEN],
) -> Keys {
    let prk_key = extract(auth, ecdh_secret);
    let mut key_info = Vec::with_capacity(14 + 2 * PUBLIC_KEY_LEN);
    key_info.extend_from_slice(b"WebPush: info\0");
    key_info.extend_from_slice(ua_public);
    key_info.extend_from_slice(as_public);
    let ikm = expand_one(&prk_key, &key_info);
    let prk = extract(salt, &ikm);
    let cek = expand_one(&prk, b"Content-Encoding: aes128gcm\0");
    let nonce = expand_one(&prk, b"Content-Encoding: nonce\0");
    Keys {
        cek: cek[..16].try_into().expect("32 ≥ 16"),
        nonce: nonce[..12].try_into().expect("32 ≥ 12"),
    }
}

/// The plaintext of the one record: the message and the last-record delimiter `0x02`
/// (RFC 8188 §2), or `None` when it would not fit a push (over [`MAX_PLAINTEXT`]).
pub fn record(plaintext: &[u8]) -> Option<Vec<u8>> {
    if plaintext.len() > MAX_PLAINTEXT {
        return None;
    }
    let mut padded = Vec::with_capacity(plaintext.len() + 1);
    padded.extend_from_slice(plaintext);
    padded.push(0x02);
    Some(padded)
}

/// The request body: the `aes128gcm` header (salt, record size, key id = the ephemeral public key)
/// and the ciphertext with its tag.
pub fn body(salt: &[u8; SALT_LEN], as_public: &[u8; PUBLIC_KEY_LEN], ciphertext: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + ciphertext.len());
    out.extend_from_slice(salt);
    out.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    out.push(PUBLIC_KEY_LEN as u8);
    out.extend_from_slice(as_public);
    out.extend_from_slice(ciphertext);
    out
}

/// HKDF-Extract (RFC 5869 §2.2).
fn extract(salt: &[u8], ikm: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(salt).expect("HMAC takes any key length");
    mac.update(ikm);
    mac.finalize().into_bytes().into()
}

/// HKDF-Expand (RFC 5869 §2.3) for an output of at most one hash (every length here is ≤ 32).
fn expand_one(prk: &[u8; 32], info: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(prk).expect("HMAC takes any key length");
    mac.update(info);
    mac.update(&[1]);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 5869 Appendix A.1 (test case 1), first 32 bytes of the OKM: our Extract and one block of
    /// Expand are HKDF-SHA-256.
    #[test]
    fn hkdf_matches_rfc_5869_test_case_1() {
        let ikm = hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
        let salt = hex("000102030405060708090a0b0c");
        let info = hex("f0f1f2f3f4f5f6f7f8f9");
        let prk = extract(&salt, &ikm);
        assert_eq!(
            prk.to_vec(),
            hex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5")
        );
        assert_eq!(
            expand_one(&prk, &info).to_vec(),
            hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf")
        );
    }

    #[test]
    fn the_keys_bind_both_public_keys_and_the_salt() {
        let (secret, auth) = ([7u8; 32], [1u8; 16]);
        let (mut ua, mut as_) = ([4u8; 65], [4u8; 65]);
        let salt = [9u8; 16];
        let base = derive(&secret, &auth, &ua, &as_, &salt);
        ua[10] ^= 1;
        assert_ne!(derive(&secret, &auth, &ua, &as_, &salt), base);
        ua[10] ^= 1;
        as_[10] ^= 1;
        assert_ne!(derive(&secret, &auth, &ua, &as_, &salt), base);
        as_[10] ^= 1;
        assert_ne!(derive(&secret, &auth, &ua, &as_, &[8u8; 16]), base);
        assert_ne!(derive(&secret, &[2u8; 16], &ua, &as_, &salt), base);
        assert_eq!(derive(&secret, &auth, &ua, &as_, &salt), base);
    }

    #[test]
    fn a_record_ends_with_the_delimiter_and_fits_4096_bytes() {
        assert_eq!(record(b"hi").unwrap(), b"hi\x02");
        let most = vec![b'x'; MAX_PLAINTEXT];
        let padded = record(&most).unwrap();
        assert_eq!(HEADER_LEN + padded.len() + TAG_LEN, 4096);
        assert!(record(&[b'x'; MAX_PLAINTEXT + 1]).is_none());
    }

    #[test]
    fn the_body_starts_with_the_aes128gcm_header() {
        let b = body(&[1; 16], &[4; 65], &[0xaa; 20]);
        assert_eq!(&b[..16], &[1; 16]);
        assert_eq!(&b[16..20], &[0, 0, 0x10, 0]);
        assert_eq!(b[20], 65);
        assert_eq!(&b[21..86], &[4; 65]);
        assert_eq!(b.len(), 86 + 20);
    }
}
