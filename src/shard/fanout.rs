//! A shard's sockets, and the fan-out of one push to them: every frame to every socket once, in the
//! order the ops give, `batch=1` sockets packed as the sequencer packs its own, and a socket waiting
//! for its welcome hearing nothing before it.

use super::records::Op;
use crate::delivery;
use crate::domain::Framing;
use crate::effect::Effect;

/// Where a socket resumes: the `after` and `since` it connected with.
pub type Resume = (Option<u64>, Option<u64>);

/// A socket a shard holds.
#[derive(Debug, Clone)]
pub struct Held<S> {
    pub socket: S,
    pub framing: Framing,
    /// Accepted, and its welcome has not come yet (it hears nothing before it): where it resumes, to
    /// ask again if the sequencer restarts meanwhile.
    pub pending: Option<Resume>,
}

/// A shard's sockets, and the fan-out of a push to them.
///
/// The sockets are a `Vec` sorted by connection id: a lookup is a binary search, a fan-out walks
/// contiguous memory, and a join or leave moves part of it (cheap at a shard's few thousand sockets).
/// A map would be no faster here and costs its own code in the wasm.
#[derive(Debug)]
pub struct Shard<S> {
    held: Vec<(String, Held<S>)>,
    batched: usize,
}

impl<S> Default for Shard<S> {
    fn default() -> Self {
        Shard {
            held: Vec::new(),
            batched: 0,
        }
    }
}

/// What a push leaves for the shard to do after its frames went out.
#[derive(Debug)]
pub struct Pushed<S> {
    /// Sockets to close (code, reason): already off the shard's roster.
    pub closes: Vec<(S, u16, String)>,
    /// Connections whose attachment to replace.
    pub attachments: Vec<(String, String)>,
}

impl<S> Shard<S> {
    pub fn hold(&mut self, conn: String, socket: S, framing: Framing, pending: Option<Resume>) {
        if framing == Framing::Batch {
            self.batched += 1;
        }
        let held = Held {
            socket,
            framing,
            pending,
        };
        match self.find(&conn) {
            Ok(i) => {
                let old = std::mem::replace(&mut self.held[i].1, held);
                if old.framing == Framing::Batch {
                    self.batched -= 1;
                }
            }
            Err(i) => self.held.insert(i, (conn, held)),
        }
    }

    pub fn release(&mut self, conn: &str) -> Option<Held<S>> {
        let gone = self.held.remove(self.find(conn).ok()?).1;
        if gone.framing == Framing::Batch {
            self.batched -= 1;
        }
        Some(gone)
    }

    /// Takes every socket off the roster (a shard that starts over, or missed frames).
    pub fn release_all(&mut self) -> Vec<(String, Held<S>)> {
        self.batched = 0;
        std::mem::take(&mut self.held)
    }

    pub fn get(&self, conn: &str) -> Option<&Held<S>> {
        self.find(conn).ok().map(|i| &self.held[i].1)
    }

    pub fn len(&self) -> usize {
        self.held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Held<S>)> {
        self.held.iter().map(|(id, h)| (id.as_str(), h))
    }

    fn find(&self, conn: &str) -> Result<usize, usize> {
        self.held.binary_search_by(|(id, _)| id.as_str().cmp(conn))
    }

    fn get_mut(&mut self, conn: &str) -> Option<&mut Held<S>> {
        let i = self.find(conn).ok()?;
        Some(&mut self.held[i].1)
    }

    /// Carries out one push: every frame for the shard's sockets through `send(socket, frame,
    /// shared)` (`shared`: the same frame goes to many sockets, worth converting once), in the order
    /// the ops give; `batch=1` sockets get their part as one frame. A socket waiting for its welcome
    /// hears nothing before it. Closes and attachment changes are left to the caller, after the frames.
    pub fn deliver(&mut self, ops: &[Op<'_>], mut send: impl FnMut(&S, &str, bool)) -> Pushed<S> {
        let mut pushed = Pushed {
            closes: Vec::new(),
            attachments: Vec::new(),
        };
        if self.batched > 0 {
            let effects: Vec<Effect> = ops
                .iter()
                .filter_map(|op| match *op {
                    Op::Send { to, frame } => Some(Effect::Send {
                        to: to.to_string(),
                        frame: frame.to_string(),
                    }),
                    Op::Broadcast { except, frame } => Some(Effect::Broadcast {
                        except: except.map(str::to_string),
                        frame: frame.to_string(),
                    }),
                    Op::Close { .. } | Op::Attach { .. } => None,
                })
                .collect();
            let this = &*self;
            let is = |id: &str, f: fn(&Held<S>) -> bool| this.get(id).is_some_and(f);
            let turn = delivery::arrange_from(
                &effects,
                |id| is(id, |h| h.framing == Framing::Batch),
                |id| is(id, |h| h.pending.is_some()),
            );
            for (id, frame) in &turn.own {
                if let (Some(frame), Some(h)) = (frame, this.get(id)) {
                    send(&h.socket, frame, false);
                }
            }
            if let Some(common) = &turn.common {
                for (id, h) in &this.held {
                    if h.framing == Framing::Batch
                        && h.pending.is_none()
                        && !turn.own.contains_key(id.as_str())
                    {
                        send(&h.socket, common, true);
                    }
                }
            }
            let named: Vec<String> = turn.own.keys().map(|id| id.to_string()).collect();
            for id in named {
                if let Some(h) = self.get_mut(&id) {
                    h.pending = None;
                }
            }
        }
        let singles = self.held.len() - self.batched;
        for op in ops {
            match *op {
                Op::Send { to, frame } => {
                    if let Some(h) = self.get_mut(to) {
                        if h.framing == Framing::Single {
                            send(&h.socket, frame, false);
                            h.pending = None;
                        }
                    }
                }
                Op::Broadcast { except, frame } => {
                    if singles == 0 {
                        continue;
                    }
                    for (id, h) in &self.held {
                        if h.framing == Framing::Single
                            && h.pending.is_none()
                            && Some(id.as_str()) != except
                        {
                            send(&h.socket, frame, true);
                        }
                    }
                }
                Op::Close { to, code, reason } => {
                    if let Some(h) = self.release(to) {
                        pushed.closes.push((h.socket, code, reason.to_string()));
                    }
                }
                Op::Attach { to, attachment } => pushed
                    .attachments
                    .push((to.to_string(), attachment.to_string())),
            }
        }
        pushed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send<'a>(to: &'a str, frame: &'a str) -> Op<'a> {
        Op::Send { to, frame }
    }

    fn broadcast<'a>(except: Option<&'a str>, frame: &'a str) -> Op<'a> {
        Op::Broadcast { except, frame }
    }

    /// Delivers `ops` and returns what each socket got, in order.
    fn deliver(
        shard: &mut Shard<&'static str>,
        ops: &[Op<'_>],
    ) -> std::collections::BTreeMap<&'static str, Vec<String>> {
        let mut got = std::collections::BTreeMap::<&'static str, Vec<String>>::new();
        shard.deliver(ops, |s, f, _| {
            got.entry(*s).or_default().push(f.to_string())
        });
        got
    }

    #[test]
    fn a_push_reaches_every_socket_once_in_order_and_a_pending_one_only_from_its_welcome() {
        for framing in [Framing::Single, Framing::Batch] {
            let mut shard = Shard::default();
            shard.hold("a".into(), "a", framing, None);
            shard.hold("b".into(), "b", framing, None);
            shard.hold("n".into(), "n", framing, Some((None, None)));
            let ops = [
                broadcast(Some("a"), "m1"),
                send("a", "ack1"),
                send("n", "welcome"),
                broadcast(None, "m2"),
                Op::Close {
                    to: "b",
                    code: 4403,
                    reason: "kicked",
                },
            ];
            let got = deliver(&mut shard, &ops);
            if framing == Framing::Single {
                assert_eq!(got["a"], ["ack1", "m2"]);
                assert_eq!(got["b"], ["m1", "m2"]);
                assert_eq!(got["n"], ["welcome", "m2"]);
            } else {
                // Batches hold JSON frames; these stand-ins are not JSON, so compare the packing.
                assert_eq!(got["a"].len(), 1, "{framing:?}");
                assert_eq!(got["b"].len(), 1);
                assert_eq!(got["n"].len(), 1);
                assert!(got["n"][0].contains("welcome,m2") && !got["n"][0].contains("m1"));
                assert!(got["a"][0].contains("ack1,m2"));
            }
            // The closed socket is off the roster; the welcomed one now hears broadcasts.
            assert!(shard.get("b").is_none());
            assert!(shard.get("n").unwrap().pending.is_none());
            let got = deliver(&mut shard, &[broadcast(None, "m3")]);
            assert_eq!(got.keys().copied().collect::<Vec<_>>(), ["a", "n"]);
        }
    }

    #[test]
    fn a_pending_socket_hears_nothing_until_its_welcome_comes() {
        let mut shard = Shard::default();
        shard.hold("n".into(), "n", Framing::Single, Some((None, None)));
        shard.hold("m".into(), "m", Framing::Batch, Some((Some(3), None)));
        let got = deliver(&mut shard, &[broadcast(None, "m1"), broadcast(None, "m2")]);
        assert!(got.is_empty(), "{got:?}");
        assert!(shard.get("n").unwrap().pending.is_some());
        assert_eq!(shard.get("m").unwrap().pending, Some((Some(3), None)));
        // Starting over empties the roster and its count of batched sockets: a v1 socket held
        // afterwards is the shard's only one and hears broadcasts.
        let all: Vec<String> = shard.release_all().into_iter().map(|(id, _)| id).collect();
        assert_eq!(all.len(), 2);
        assert!(shard.is_empty());
        shard.hold("v".into(), "v", Framing::Single, None);
        let got = deliver(&mut shard, &[broadcast(None, "m3")]);
        assert_eq!(got["v"], ["m3"]);
    }
}
