//! Whether a message reaches a person who is away, and why. The inbox asks this for each message a
//! room tells it about; the answer is a [`Reason`] (which also says how urgent the push is) or
//! nothing. The rules, in order:
//!
//! 1. never for the person's own messages, a room they left or muted, or while they have any socket
//!    open (they see it live);
//! 2. at most one push per room until they come back (open any socket) or read the room — the push
//!    service's `Topic` then replaces that one on the device if a later one follows;
//! 3. a direct message, a mention of them (or `@room`), or a reply in a thread they take part in
//!    always qualifies, unless the room's setting is `none`;
//! 4. any other message qualifies only when the room's setting is `all` (the default for direct
//!    messages; other rooms default to `mentions`).

/// A room's notification setting for one person (`notify` in `PATCH /api/me/rooms/{room}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    All,
    Mentions,
    None,
}

impl Notify {
    /// The setting a room starts with: every message of a direct message, mentions elsewhere.
    pub fn default_for(direct: bool) -> Notify {
        if direct {
            Notify::All
        } else {
            Notify::Mentions
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Notify::All => "all",
            Notify::Mentions => "mentions",
            Notify::None => "none",
        }
    }

    pub fn parse(text: &str) -> Option<Notify> {
        match text {
            "all" => Some(Notify::All),
            "mentions" => Some(Notify::Mentions),
            "none" => Some(Notify::None),
            _ => None,
        }
    }
}

/// Why a push is sent; also the notification's `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Dm,
    Mention,
    Thread,
    Message,
}

impl Reason {
    /// As the notification's `kind` says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Dm => "dm",
            Reason::Mention => "mention",
            Reason::Thread => "thread",
            Reason::Message => "message",
        }
    }

    /// RFC 8030 §5.3 `Urgency`: a device in power saving still wakes for someone asking for the
    /// person; other traffic may wait for a better moment.
    pub fn urgency(self) -> &'static str {
        match self {
            Reason::Dm | Reason::Mention => "high",
            Reason::Thread | Reason::Message => "normal",
        }
    }
}

/// What the inbox knows when a room tells it about a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Circumstances {
    /// The person has some socket open (a room's or the inbox's).
    pub online: bool,
    /// The message is the person's own.
    pub own: bool,
    /// The person left the room or muted it.
    pub left_or_muted: bool,
    /// A push for this room was already sent since they last came back or read it.
    pub pushed_since_back: bool,
    /// The room's setting for this person.
    pub notify: Notify,
    /// The room is a direct message.
    pub direct: bool,
    /// The message mentions the person (or is an `@room`).
    pub mentions_me: bool,
    /// The message is a reply in a thread the person takes part in.
    pub my_thread: bool,
}

/// The reason to push, or `None` when this message must not wake the person.
pub fn decide(c: Circumstances) -> Option<Reason> {
    if c.online || c.own || c.left_or_muted || c.pushed_since_back || c.notify == Notify::None {
        return None;
    }
    let reason = if c.direct {
        Reason::Dm
    } else if c.mentions_me {
        Reason::Mention
    } else if c.my_thread {
        Reason::Thread
    } else {
        Reason::Message
    };
    match (reason, c.notify) {
        (Reason::Message, Notify::Mentions) => None,
        _ => Some(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn away() -> Circumstances {
        Circumstances {
            online: false,
            own: false,
            left_or_muted: false,
            pushed_since_back: false,
            notify: Notify::Mentions,
            direct: false,
            mentions_me: false,
            my_thread: false,
        }
    }

    #[test]
    fn direct_messages_mentions_and_my_threads_reach_a_person_who_is_away() {
        let dm = Circumstances {
            direct: true,
            notify: Notify::default_for(true),
            ..away()
        };
        assert_eq!(decide(dm), Some(Reason::Dm));
        assert_eq!(
            decide(Circumstances {
                mentions_me: true,
                ..away()
            }),
            Some(Reason::Mention)
        );
        assert_eq!(
            decide(Circumstances {
                my_thread: true,
                ..away()
            }),
            Some(Reason::Thread)
        );
    }

    #[test]
    fn other_messages_only_when_the_room_says_all() {
        assert_eq!(decide(away()), None);
        let all = Circumstances {
            notify: Notify::All,
            ..away()
        };
        assert_eq!(decide(all), Some(Reason::Message));
    }

    #[test]
    fn nothing_when_online_own_muted_already_pushed_or_none() {
        let wanted = Circumstances {
            mentions_me: true,
            ..away()
        };
        for blocked in [
            Circumstances {
                online: true,
                ..wanted
            },
            Circumstances {
                own: true,
                ..wanted
            },
            Circumstances {
                left_or_muted: true,
                ..wanted
            },
            Circumstances {
                pushed_since_back: true,
                ..wanted
            },
            Circumstances {
                notify: Notify::None,
                ..wanted
            },
        ] {
            assert_eq!(decide(blocked), None, "{blocked:?}");
        }
    }

    #[test]
    fn settings_parse_and_urgency_follows_the_reason() {
        assert_eq!(Notify::parse("all"), Some(Notify::All));
        assert_eq!(Notify::parse("loud"), None);
        assert_eq!(Notify::default_for(false), Notify::Mentions);
        assert_eq!(Reason::Mention.urgency(), "high");
        assert_eq!(Reason::Message.urgency(), "normal");
    }
}
