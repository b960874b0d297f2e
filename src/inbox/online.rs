//! Who is online across rooms. A person is online while any socket of theirs is open: one of their
//! inbox's own (`/ws/me`), or one in a room (each room tells the inbox when the person's first socket
//! there opens and their last one closes). Their inbox tells the people they have direct messages with
//! when that changes ([`step`]): at once when they come online, and only after [`OFFLINE_GRACE_MS`]
//! offline when they go — a reload, or a hop from one room to another, is not a goodbye.

use serde::Serialize;
use serde_json::Value;

/// How long a person must have been offline before their partners are told so.
pub const OFFLINE_GRACE_MS: u64 = 3_000;

/// Most direct-message partners an inbox tells of its person's state, or asks theirs of, per change:
/// the most recent ones (a person with more hears of the others on their next change).
pub const MAX_PARTNERS: usize = 100;

/// A person's online state as their partners hear of it (the inbox socket's `online` frame).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seen {
    pub uid: String,
    pub online: bool,
    /// When they were last online (ms), once they have gone; `None` while online or never seen.
    pub last_seen: Option<u64>,
}

impl Seen {
    /// A state as its JSON says it (one inbox telling another; hand-read, as [`super::entry::Update`]).
    pub fn read(json: &Value) -> Option<Seen> {
        Some(Seen {
            uid: json["uid"].as_str()?.to_string(),
            online: json["online"].as_bool()?,
            last_seen: json["last_seen"].as_u64(),
        })
    }

    pub fn parse(text: &str) -> Option<Seen> {
        Seen::read(&serde_json::from_str(text).ok()?)
    }
}

/// What an inbox last told its person's partners (kept with the inbox).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Told {
    pub online: bool,
    pub last_seen: Option<u64>,
}

/// What to do about the person's state now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Tell the partners (and keep it as told).
    Tell(Told),
    /// Offline, but not for long enough yet: look again at this time (ms).
    LookAt(u64),
    /// The partners already know.
    Nothing,
}

/// The person has `sockets` open on their inbox and is present in `rooms` rooms; `offline_since` is
/// when they were last seen with either (ms; `None` if never). What to tell, given what was `told`.
pub fn step(
    told: Told,
    sockets: usize,
    rooms: usize,
    offline_since: Option<u64>,
    now: u64,
) -> Step {
    let online = sockets > 0 || rooms > 0;
    match (online, told.online) {
        (true, false) => Step::Tell(Told {
            online: true,
            last_seen: None,
        }),
        (false, true) => {
            let since = offline_since.unwrap_or(now);
            if now >= since.saturating_add(OFFLINE_GRACE_MS) {
                Step::Tell(Told {
                    online: false,
                    last_seen: Some(since),
                })
            } else {
                Step::LookAt(since + OFFLINE_GRACE_MS)
            }
        }
        _ => Step::Nothing,
    }
}

impl Told {
    /// As a partner's inbox shows it.
    pub fn seen(self, uid: &str) -> Seen {
        Seen {
            uid: uid.to_string(),
            online: self.online,
            last_seen: self.last_seen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONLINE: Told = Told {
        online: true,
        last_seen: None,
    };

    #[test]
    fn coming_online_is_told_at_once() {
        let offline = Told {
            online: false,
            last_seen: Some(5),
        };
        assert_eq!(step(offline, 1, 0, Some(5), 100), Step::Tell(ONLINE));
        assert_eq!(
            step(Told::default(), 0, 1, None, 100),
            Step::Tell(ONLINE),
            "a room socket counts"
        );
        assert_eq!(step(ONLINE, 2, 3, None, 100), Step::Nothing);
    }

    #[test]
    fn a_state_reads_back_what_it_wrote() {
        for seen in [
            ONLINE.seen("ann"),
            Told {
                online: false,
                last_seen: Some(9),
            }
            .seen("bob"),
        ] {
            assert_eq!(
                Seen::parse(&serde_json::to_string(&seen).unwrap()),
                Some(seen)
            );
        }
        assert_eq!(Seen::parse(r#"{"uid":"a"}"#), None);
    }

    #[test]
    fn going_offline_waits_out_the_grace() {
        assert_eq!(
            step(ONLINE, 0, 0, Some(1_000), 1_500),
            Step::LookAt(1_000 + OFFLINE_GRACE_MS)
        );
        assert_eq!(
            step(ONLINE, 0, 0, Some(1_000), 1_000 + OFFLINE_GRACE_MS),
            Step::Tell(Told {
                online: false,
                last_seen: Some(1_000)
            })
        );
        // back within the grace: nothing was ever told
        assert_eq!(step(ONLINE, 1, 0, Some(1_000), 1_200), Step::Nothing);
        assert_eq!(step(Told::default(), 0, 0, None, 9), Step::Nothing);
    }
}
