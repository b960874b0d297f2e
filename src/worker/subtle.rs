//! The runtime's Web Crypto (`crypto.subtle`), bound directly: the asymmetric and AES operations the
//! wasm does not carry code for. Used by [`super::keys`] (verifying RS256/ES256 tokens) and
//! [`super::webpush`] (ECDH, AES-GCM and ECDSA for Web Push). Each returns the runtime's Promise.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `crypto.subtle.importKey(format, keyData, algorithm, extractable, keyUsages)`.
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = importKey, catch)]
    pub fn import_key(
        format: &str,
        key_data: &JsValue,
        algorithm: &JsValue,
        extractable: bool,
        usages: &JsValue,
    ) -> Result<js_sys::Promise, JsValue>;

    /// `crypto.subtle.exportKey(format, key)`.
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = exportKey, catch)]
    pub fn export_key(format: &str, key: &JsValue) -> Result<js_sys::Promise, JsValue>;

    /// `crypto.subtle.generateKey(algorithm, extractable, keyUsages)` → a key pair for ECDH.
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = generateKey, catch)]
    pub fn generate_key(
        algorithm: &JsValue,
        extractable: bool,
        usages: &JsValue,
    ) -> Result<js_sys::Promise, JsValue>;

    /// `crypto.subtle.deriveBits(algorithm, baseKey, length)`.
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = deriveBits, catch)]
    pub fn derive_bits(
        algorithm: &JsValue,
        base_key: &JsValue,
        length: u32,
    ) -> Result<js_sys::Promise, JsValue>;

    /// `crypto.subtle.encrypt(algorithm, key, data)`.
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = encrypt, catch)]
    pub fn encrypt(
        algorithm: &JsValue,
        key: &JsValue,
        data: &js_sys::Uint8Array,
    ) -> Result<js_sys::Promise, JsValue>;

    /// `crypto.subtle.sign(algorithm, key, data)`.
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = sign, catch)]
    pub fn sign(
        algorithm: &JsValue,
        key: &JsValue,
        data: &js_sys::Uint8Array,
    ) -> Result<js_sys::Promise, JsValue>;

    /// `crypto.subtle.verify(algorithm, key, signature, data)` → a Promise of a boolean.
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = verify, catch)]
    pub fn verify(
        algorithm: &JsValue,
        key: &JsValue,
        signature: &js_sys::Uint8Array,
        data: &js_sys::Uint8Array,
    ) -> Result<js_sys::Promise, JsValue>;
}
