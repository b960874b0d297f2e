//! Files in a room: what an upload may be, and the names things have. An upload
//! (`POST /api/rooms/{room}/files?name=…`) is checked here before a byte is read ([`Upload::check`]:
//! its name, its declared type against `FILE_TYPES`, its `Content-Length` against `FILE_MAX_BYTES`),
//! its first bytes are checked against that type by [`sniff`], and a download's headers are made by
//! [`serve`]. What the room records of each upload, and the storage it needs for that, is [`log`].
//!
//! The bytes live in the R2 bucket `FILES`, under the room's name ([`object_key`]): a file id is only
//! ever looked up under the room it is asked for, so an id guessed (or learnt) in one room names
//! nothing in another. Ids are 128 random bits ([`FileId`]), made by the room's object.

pub mod log;
pub mod serve;
pub mod sniff;

use crate::error::{ErrorCode, Problem};
use crate::validate::RoomName;

/// Most files one message may carry.
pub const FILES_PER_MESSAGE: usize = 10;
/// Default largest upload (`FILE_MAX_BYTES`): 25 MB.
pub const DEFAULT_MAX_BYTES: u64 = 25 * 1000 * 1000;
/// Default types an upload may have (`FILE_TYPES`): the common images, PDF, plain text and zip.
pub const DEFAULT_TYPES: &str =
    "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,application/zip";
/// Largest thumbnail (`POST …/files/{id}/thumb`): a small WebP the page makes while uploading.
pub const THUMB_MAX_BYTES: u64 = 128 * 1024;
/// The type every thumbnail has.
pub const THUMB_TYPE: &str = "image/webp";
/// Longest file name, in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// Default time after which an upload no message has used is removed (`FILE_UNUSED_SECS`): an hour.
pub const DEFAULT_UNUSED_SECS: u64 = 3600;
/// Most uploads one author may hold unused at once: enough for two full messages, and a bound on
/// what one author can leave in the bucket for the sweep.
pub const MAX_UNUSED_PER_AUTHOR: u64 = 2 * FILES_PER_MESSAGE as u64;

/// The deployment's rules for uploads: the largest size and the types taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePolicy {
    /// Largest upload in bytes (`FILE_MAX_BYTES`).
    pub max_bytes: u64,
    /// Media types taken (`FILE_TYPES`): `type/subtype`, or `type/*` for every subtype.
    pub types: Vec<String>,
    /// How long an upload may wait for a message to use it before it is removed, in ms
    /// (`FILE_UNUSED_SECS`).
    pub unused_ms: u64,
}

impl Default for FilePolicy {
    fn default() -> Self {
        FilePolicy {
            max_bytes: DEFAULT_MAX_BYTES,
            types: parse_types(DEFAULT_TYPES).unwrap_or_default(),
            unused_ms: DEFAULT_UNUSED_SECS * 1000,
        }
    }
}

impl FilePolicy {
    /// Whether an upload of media type `content_type` (lower case, no parameters) is taken.
    pub fn allows(&self, content_type: &str) -> bool {
        self.types.iter().any(|t| match t.strip_suffix("/*") {
            Some(major) => content_type
                .strip_prefix(major)
                .is_some_and(|rest| rest.starts_with('/')),
            None => t == content_type,
        })
    }
}

/// A comma-separated list of media types (`FILE_TYPES`), each lower-cased; `None` when one is not
/// `type/subtype` or `type/*`.
pub fn parse_types(list: &str) -> Option<Vec<String>> {
    list.split(',')
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .map(|t| {
            let (major, minor) = t.split_once('/')?;
            let token = |s: &str| {
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
            };
            (token(major) && (minor == "*" || token(minor))).then_some(t)
        })
        .collect()
}

/// A file's id: 32 lower-case hex digits (128 random bits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(String);

impl FileId {
    /// The id made of 16 random bytes.
    pub fn from_random(bytes: [u8; 16]) -> FileId {
        FileId(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// An id as a client or a path names it: `bad_file` unless it is 32 lower-case hex digits.
    pub fn parse(raw: &str) -> Result<FileId, Problem> {
        if raw.len() == 32 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(FileId(raw.to_string()))
        } else {
            Err(Problem::new(
                ErrorCode::BadFile,
                "a file id is the 32 hex digits an upload answered with",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where file `id` of `room` lives in the bucket: `{room}/{id}` (its thumbnail: [`thumb_key`]).
/// Room names hold no `/`, so `{room}/` is exactly one room's objects.
pub fn object_key(room: &RoomName, id: &FileId) -> String {
    format!("{}/{}", room.as_str(), id.as_str())
}

/// Where the thumbnail of file `id` lives: beside it.
pub fn thumb_key(room: &RoomName, id: &FileId) -> String {
    format!("{}/{}/thumb", room.as_str(), id.as_str())
}

/// The bucket prefix of every object of `room`.
pub fn room_prefix(room: &RoomName) -> String {
    format!("{}/", room.as_str())
}

/// An upload as its request declares it, checked: a name to show, a media type the room takes, and
/// a size within the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub name: String,
    pub content_type: String,
    pub size: u64,
}

impl Upload {
    /// Checks what an upload declares before its bytes are read: `name=` (the last part of a path,
    /// trimmed, 1–255 characters without control characters), `Content-Type` (taken by `policy`:
    /// else 415 `unsupported_type`), `Content-Length` (present: else 411 `length_required`; not 0;
    /// at most `max_bytes`: else 413 `too_large`).
    pub fn check(
        name: Option<&str>,
        content_type: Option<&str>,
        length: Option<&str>,
        policy: &FilePolicy,
    ) -> Result<Upload, Problem> {
        let name = file_name(name.unwrap_or(""))?;
        let content_type = media_type(content_type.unwrap_or(""));
        if !policy.allows(&content_type) {
            return Err(Problem::new(
                ErrorCode::UnsupportedType,
                format!(
                    "files of type {:?} are not taken here (see file_types in welcome.limits)",
                    truncate(&content_type, 64)
                ),
            ));
        }
        let size = length_of(length)?;
        if size > policy.max_bytes {
            return Err(Problem::new(
                ErrorCode::TooLarge,
                format!("the file is larger than {} bytes", policy.max_bytes),
            ));
        }
        Ok(Upload {
            name,
            content_type,
            size,
        })
    }
}

/// Checks a thumbnail's upload (`POST …/files/{id}/thumb`): a [`THUMB_TYPE`] image of at most
/// [`THUMB_MAX_BYTES`].
pub fn check_thumb(content_type: Option<&str>, length: Option<&str>) -> Result<Upload, Problem> {
    let policy = FilePolicy {
        max_bytes: THUMB_MAX_BYTES,
        types: vec![THUMB_TYPE.to_string()],
        unused_ms: 0,
    };
    Upload::check(Some("thumb.webp"), content_type, length, &policy)
}

/// The `Content-Length` of an upload: present, a whole number, not 0.
fn length_of(length: Option<&str>) -> Result<u64, Problem> {
    let Some(raw) = length else {
        return Err(Problem::new(
            ErrorCode::LengthRequired,
            "send the file with a Content-Length (it is streamed to storage, which needs its size)",
        ));
    };
    match raw.trim().parse::<u64>() {
        Ok(0) => Err(Problem::new(ErrorCode::BadRequest, "the file is empty")),
        Ok(n) => Ok(n),
        Err(_) => Err(Problem::new(
            ErrorCode::BadRequest,
            "Content-Length is not a number",
        )),
    }
}

/// A file's name as shown: the last part of what was given (a browser may send a path), trimmed.
pub fn file_name(raw: &str) -> Result<String, Problem> {
    let name = raw.rsplit(['/', '\\']).next().unwrap_or("").trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(Problem::new(
            ErrorCode::BadRequest,
            format!("name= must be a file name of 1-{MAX_NAME_CHARS} characters"),
        ));
    }
    Ok(name.to_string())
}

/// A `Content-Type` header's media type: lower case, without parameters (`; charset=…`).
pub fn media_type(header: &str) -> String {
    header
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, ty: &str, len: Option<&str>) -> Result<Upload, ErrorCode> {
        Upload::check(Some(name), Some(ty), len, &FilePolicy::default()).map_err(|p| p.code)
    }

    #[test]
    fn an_upload_declares_a_name_a_type_taken_and_its_size() {
        assert_eq!(
            check(
                "C:\\shots\\Screen shot.PNG ",
                "Image/PNG; q=1",
                Some("1234")
            ),
            Ok(Upload {
                name: "Screen shot.PNG".into(),
                content_type: "image/png".into(),
                size: 1234
            })
        );
        assert_eq!(
            check("a.exe", "application/x-msdownload", Some("9")),
            Err(ErrorCode::UnsupportedType)
        );
        assert_eq!(
            check("a.html", "text/html", Some("9")),
            Err(ErrorCode::UnsupportedType)
        );
        assert_eq!(
            check("a.png", "", Some("9")),
            Err(ErrorCode::UnsupportedType)
        );
        assert_eq!(
            check("a.png", "image/png", None),
            Err(ErrorCode::LengthRequired)
        );
        assert_eq!(
            check("a.png", "image/png", Some("0")),
            Err(ErrorCode::BadRequest)
        );
        assert_eq!(
            check("a.png", "image/png", Some("-1")),
            Err(ErrorCode::BadRequest)
        );
        assert_eq!(
            check("a.png", "image/png", Some("25000001")),
            Err(ErrorCode::TooLarge)
        );
        assert!(check("a.png", "image/png", Some("25000000")).is_ok());
        assert!(check_thumb(Some("image/webp"), Some("131072")).is_ok());
        assert_eq!(
            check_thumb(Some("image/webp"), Some("131073"))
                .unwrap_err()
                .code,
            ErrorCode::TooLarge
        );
        assert_eq!(
            check_thumb(Some("image/png"), Some("10")).unwrap_err().code,
            ErrorCode::UnsupportedType
        );
        assert_eq!(
            check("", "image/png", Some("9")),
            Err(ErrorCode::BadRequest)
        );
        assert_eq!(
            check("dir/", "image/png", Some("9")),
            Err(ErrorCode::BadRequest)
        );
        assert_eq!(
            check("a\u{7}b", "image/png", Some("9")),
            Err(ErrorCode::BadRequest)
        );
        assert_eq!(
            check(&"n".repeat(256), "image/png", Some("9")),
            Err(ErrorCode::BadRequest)
        );
    }

    #[test]
    fn types_are_exact_or_a_whole_major_type() {
        let policy = FilePolicy {
            types: parse_types("image/*, Text/Plain").unwrap(),
            ..FilePolicy::default()
        };
        assert!(policy.allows("image/svg+xml"));
        assert!(policy.allows("text/plain"));
        assert!(!policy.allows("imagex/png"));
        assert!(!policy.allows("image"));
        assert!(!policy.allows("text/html"));
        assert_eq!(parse_types("image/png, nonsense"), None);
        assert_eq!(parse_types("*/*"), None);
        assert_eq!(parse_types(""), Some(vec![]));
        assert_eq!(FilePolicy::default().types.len(), 7);
    }

    #[test]
    fn ids_are_128_bits_of_hex_and_keys_stay_in_their_room() {
        let id = FileId::from_random([0xab; 16]);
        assert_eq!(id.as_str().len(), 32);
        assert_eq!(FileId::parse(id.as_str()), Ok(id.clone()));
        for bad in ["", "AB", &"g".repeat(32), &"a".repeat(33), "../../x"] {
            assert_eq!(FileId::parse(bad).unwrap_err().code, ErrorCode::BadFile);
        }
        let room = RoomName::parse("team-1").unwrap();
        assert_eq!(object_key(&room, &id), format!("team-1/{}", id.as_str()));
        assert_eq!(
            thumb_key(&room, &id),
            format!("team-1/{}/thumb", id.as_str())
        );
        assert!(object_key(&room, &id).starts_with(&room_prefix(&room)));
    }
}
