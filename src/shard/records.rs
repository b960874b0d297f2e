//! The bodies of the calls between a room's objects: what a shard's sockets did ([`Up`], shard →
//! sequencer) and what they must get ([`Op`], sequencer → shard). A record is a header line (`kind`,
//! arguments, and the payload's byte length, separated by spaces) and then the payload's bytes, so a
//! frame passes through without being escaped or parsed again.

use crate::error::{ErrorCode, Problem};

/// What a shard tells the sequencer, in the order its sockets did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Up<'a> {
    /// A socket the shard accepted, waiting for its welcome: its attachment (JSON), and where it
    /// resumes.
    Join {
        attachment: &'a str,
        after: Option<u64>,
        since: Option<u64>,
    },
    /// A socket the shard holds, already welcomed (only in a `sync`).
    Member { attachment: &'a str },
    /// A text frame from connection `conn`.
    Text { conn: &'a str, text: &'a str },
    /// A binary frame of `len` bytes (refused by the room; only its size travels).
    Binary { conn: &'a str, len: usize },
    /// Connection `conn` closed or failed.
    Leave { conn: &'a str },
}

/// What the sequencer tells a shard: the room's effects for the shard's sockets. It borrows its
/// strings: the sequencer encodes an op straight from the effect it routes, and the shard reads one
/// straight out of the push's body, so a frame is never copied on the way in or out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op<'a> {
    /// `frame` to connection `to`.
    Send { to: &'a str, frame: &'a str },
    /// `frame` to every socket of the shard except `except`.
    Broadcast {
        except: Option<&'a str>,
        frame: &'a str,
    },
    /// Close connection `to` (after the frames before it).
    Close {
        to: &'a str,
        code: u16,
        reason: &'a str,
    },
    /// Replace connection `to`'s attachment (a renewed token: new role and expiry).
    Attach { to: &'a str, attachment: &'a str },
}

/// Builds a body of records.
#[derive(Debug, Default)]
pub struct Records {
    body: String,
    count: usize,
}

impl Records {
    fn push(&mut self, kind: char, args: &[&str], payload: &str) {
        self.body.push(kind);
        for arg in args {
            self.body.push(' ');
            self.body.push_str(arg);
        }
        self.body.push(' ');
        self.body.push_str(&payload.len().to_string());
        self.body.push('\n');
        self.body.push_str(payload);
        self.count += 1;
    }

    pub fn up(&mut self, record: &Up<'_>) {
        match record {
            Up::Join {
                attachment,
                after,
                since,
            } => self.push('J', &[&optional(*after), &optional(*since)], attachment),
            Up::Member { attachment } => self.push('N', &[], attachment),
            Up::Text { conn, text } => self.push('M', &[conn], text),
            Up::Binary { conn, len } => self.push('Y', &[conn, &len.to_string()], ""),
            Up::Leave { conn } => self.push('L', &[conn], ""),
        }
    }

    pub fn op(&mut self, op: &Op<'_>) {
        match *op {
            Op::Send { to, frame } => self.push('S', &[to], frame),
            Op::Broadcast { except, frame } => self.push('B', &[except.unwrap_or("-")], frame),
            Op::Close { to, code, reason } => self.push('C', &[to, &code.to_string()], reason),
            Op::Attach { to, attachment } => self.push('A', &[to], attachment),
        }
    }

    /// Appends another body's records after these.
    pub fn append(&mut self, other: Records) {
        self.body.push_str(&other.body);
        self.count += other.count;
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn into_body(self) -> String {
        self.body
    }
}

fn optional(n: Option<u64>) -> String {
    n.map_or_else(|| "-".to_string(), |n| n.to_string())
}

fn bad(what: &str) -> Problem {
    Problem::new(ErrorCode::BadRequest, format!("bad shard record: {what}"))
}

/// One record: its kind, its arguments and its payload.
struct Record<'a> {
    kind: char,
    args: Vec<&'a str>,
    payload: &'a str,
}

/// Reads a body of records.
fn records(body: &str) -> Result<Vec<Record<'_>>, Problem> {
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (header, after) = rest.split_once('\n').ok_or_else(|| bad("no header"))?;
        let mut fields: Vec<&str> = header.split(' ').collect();
        let len: usize = fields
            .pop()
            .and_then(|l| l.parse().ok())
            .ok_or_else(|| bad("no length"))?;
        let mut kind = fields.first().copied().unwrap_or("").chars();
        let (Some(k), None) = (kind.next(), kind.next()) else {
            return Err(bad("no kind"));
        };
        if len > after.len() || !after.is_char_boundary(len) {
            return Err(bad("payload cut short"));
        }
        let (payload, next) = after.split_at(len);
        out.push(Record {
            kind: k,
            args: fields[1..].to_vec(),
            payload,
        });
        rest = next;
    }
    Ok(out)
}

fn parse_optional(raw: &str) -> Result<Option<u64>, Problem> {
    match raw {
        "-" => Ok(None),
        n => n.parse().map(Some).map_err(|_| bad("not a number")),
    }
}

/// Reads an up body.
pub fn read_up(body: &str) -> Result<Vec<Up<'_>>, Problem> {
    records(body)?
        .into_iter()
        .map(|r| {
            Ok(match (r.kind, r.args.as_slice()) {
                ('J', [after, since]) => Up::Join {
                    attachment: r.payload,
                    after: parse_optional(after)?,
                    since: parse_optional(since)?,
                },
                ('N', []) => Up::Member {
                    attachment: r.payload,
                },
                ('M', [conn]) => Up::Text {
                    conn,
                    text: r.payload,
                },
                ('Y', [conn, len]) => Up::Binary {
                    conn,
                    len: len.parse().map_err(|_| bad("not a number"))?,
                },
                ('L', [conn]) => Up::Leave { conn },
                _ => return Err(bad("unknown up record")),
            })
        })
        .collect()
}

/// Reads a down body.
pub fn read_ops(body: &str) -> Result<Vec<Op<'_>>, Problem> {
    records(body)?
        .into_iter()
        .map(|r| {
            Ok(match (r.kind, r.args.as_slice()) {
                ('S', [to]) => Op::Send {
                    to,
                    frame: r.payload,
                },
                ('B', [except]) => Op::Broadcast {
                    except: (*except != "-").then_some(*except),
                    frame: r.payload,
                },
                ('C', [to, code]) => Op::Close {
                    to,
                    code: code.parse().map_err(|_| bad("not a close code"))?,
                    reason: r.payload,
                },
                ('A', [to]) => Op::Attach {
                    to,
                    attachment: r.payload,
                },
                _ => return Err(bad("unknown op")),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_whatever_the_payload_holds() {
        let text = "line one\nline two 12\n{\"type\":\"message\"} ünï";
        let ups = [
            Up::Join {
                attachment: r#"{"v":3,"id":"c1","name":"ann"}"#,
                after: Some(5),
                since: None,
            },
            Up::Member {
                attachment: r#"{"v":3,"id":"c2","name":"bob"}"#,
            },
            Up::Text { conn: "c1", text },
            Up::Text {
                conn: "c1",
                text: "",
            },
            Up::Binary {
                conn: "c2",
                len: 70_000,
            },
            Up::Leave { conn: "c2" },
        ];
        let mut r = Records::default();
        for up in &ups {
            r.up(up);
        }
        assert_eq!(r.len(), 6);
        let body = r.into_body();
        assert_eq!(read_up(&body).unwrap(), ups);

        let ops = vec![
            Op::Send {
                to: "c1",
                frame: text,
            },
            Op::Broadcast {
                except: None,
                frame: "{}",
            },
            Op::Broadcast {
                except: Some("c1"),
                frame: "{\n}",
            },
            Op::Close {
                to: "c2",
                code: 4403,
                reason: "banned",
            },
            Op::Attach {
                to: "c1",
                attachment: "{}",
            },
        ];
        let mut r = Records::default();
        for op in &ops {
            r.op(op);
        }
        let body = r.into_body();
        assert_eq!(read_ops(&body).unwrap(), ops);
    }

    #[test]
    fn a_bad_body_is_an_error_never_a_panic() {
        for body in [
            "M c1 5\nabc",
            "M c1\nabc",
            "X c1 0\n",
            "M c1 x\n",
            "MM c1 0\n",
            "no newline",
            "M c1 1\nü",
            "J 1 0\n",
            "Y c1 z 0\n",
            " 0\n",
        ] {
            assert!(read_up(body).is_err(), "{body:?}");
        }
        assert!(read_ops("C c1 99999 0\n").is_err());
        assert!(read_ops("S 0\n").is_err());
        assert_eq!(read_up("").unwrap(), vec![]);
    }
}
