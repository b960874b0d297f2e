//! Standard Web Push, the pure half: what a person's inbox needs to reach a browser that has no open
//! socket, without any vendor service or SDK.
//!
//! - [`settings`]: the VAPID key pair and subject from `[vars]`/secrets (`VAPID_*`), `PUSH_*` knobs;
//! - [`subscription`]: a browser's `PushSubscription` JSON, checked (endpoint, `p256dh`, `auth`);
//! - [`encryption`]: RFC 8291's key schedule (HKDF over the ECDH secret) and RFC 8188's `aes128gcm`
//!   framing — the ECDH and AES-GCM themselves are the runtime's Web Crypto (`worker/webpush.rs`);
//! - [`vapid`]: RFC 8292's JWT (`aud` = the endpoint's origin) and `Authorization: vapid t=…, k=…`;
//! - [`payload`]: what a notification says (≤ 4 KB), and the `Topic` that makes a later push replace
//!   an earlier one on the device;
//! - [`outcome`]: a push service's answer → delivered, retry later (backoff, `Retry-After`), or gone;
//! - [`trigger`]: what a room's update of an inbox entry means (a new message by someone else, a read);
//! - [`policy`]: whether a message reaches a person who is away at all (DMs, mentions, threads, the
//!   room's `notify` setting, once per room until they come back).

pub mod encryption;
pub mod outcome;
pub mod payload;
pub mod policy;
pub mod settings;
pub mod subscription;
pub mod trigger;
pub mod vapid;
