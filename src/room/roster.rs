//! Who is in the room: joining (the welcome), leaving, restoring the roster after a wake, each
//! member's role, address and token expiry, presence by counts above the threshold, and the sweep of
//! sockets that fell silent. Closing a connection lives here too: it is a roster change first.

use super::*;
use crate::presence::WELCOME_READS;
use crate::protocol::ReadPosition;

impl<S: Place> Room<S> {
    /// The grace after a token's `exp` before its socket is closed (the Durable Object sets
    /// `JWT_LEEWAY_SECS`).
    pub fn set_expiry_grace(&mut self, secs: u64) {
        self.expiry_grace_secs = secs;
    }

    /// When connection `conn_id`'s token now expires (a renewal): `None` never.
    pub fn set_expiry(&mut self, conn_id: &str, expires: Option<u64>) {
        if let Some(member) = self.members.get_mut(conn_id) {
            member.expires = expires;
            self.expires_at(expires);
        }
    }

    /// Lowers the kept bound of [`Room::next_expiry`] to a token that expires at `expires`.
    fn expires_at(&mut self, expires: Option<u64>) {
        if let Some(exp) = expires {
            let at = exp.saturating_add(self.expiry_grace_secs);
            self.next_expiry = Some(self.next_expiry.map_or(at, |e| e.min(at)));
        }
    }

    /// Closes every connection whose token has run out at `now_secs`: an `error` frame
    /// `token_expired`, then close 4401 (a page renews its token and reconnects); the others hear it
    /// leave. O(1) while nothing is due.
    pub fn expire(&mut self, now_secs: u64, now_ms: u64) -> Vec<Effect> {
        if self.next_expiry.is_none_or(|at| at > now_secs) {
            return Vec::new();
        }
        let grace = self.expiry_grace_secs;
        let expired: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| {
                m.expires
                    .is_some_and(|exp| exp.saturating_add(grace) <= now_secs)
            })
            .map(|(id, _)| id.clone())
            .collect();
        let mut effects = Vec::new();
        let code = ErrorCode::TokenExpired;
        for conn_id in expired {
            effects.push(error_to(
                &conn_id,
                code,
                "your token has expired; reconnect with a fresh one",
                None,
            ));
            effects.extend(self.close(&conn_id, code.close_code(), code.as_str(), now_ms));
        }
        self.next_expiry = self.earliest_expiry();
        effects
    }

    /// When (Unix seconds) the Durable Object must wake to close the next token that runs out, grace
    /// included: `None` when no member has a token, so a room of open-room sockets never sets one.
    /// O(1) (it is asked whenever the alarm is set, e.g. on every flush with webhooks on): a bound
    /// kept as tokens come and exact after each [`Room::expire`] that was due; a bound made early by a
    /// leave or a renewal costs one early wake, never a late close.
    pub fn next_expiry(&self) -> Option<u64> {
        self.next_expiry
    }

    /// The exact earliest expiry, grace included: a scan of the roster.
    fn earliest_expiry(&self) -> Option<u64> {
        let grace = self.expiry_grace_secs;
        self.members
            .values()
            .filter_map(|m| m.expires)
            .map(|exp| exp.saturating_add(grace))
            .min()
    }

    /// Sets the role of connection `conn_id` (restored from its attachment after a wake, or renewed).
    pub fn set_role(&mut self, conn_id: &str, role: Role) {
        if let Some(member) = self.members.get_mut(conn_id) {
            member.role = role;
        }
    }

    pub(super) fn is_moderator(&self, conn_id: &str) -> bool {
        self.members
            .get(conn_id)
            .is_some_and(|m| m.role == Role::Moderator)
    }

    /// Rebuilds the roster from the open sockets and what their attachments kept (after a wake, or
    /// a shard's roster): each member with its framing, role, token expiry and address, as it joined
    /// (`after`/`since` are a join's only). A connection already on the roster keeps its state.
    pub fn restore(&mut self, members: impl IntoIterator<Item = (User, S, Joining)>, now_ms: u64) {
        for (user, socket, kept) in members {
            if self.members.contains_key(&user.id) {
                continue;
            }
            self.add(user, socket, &kept, now_ms);
        }
    }

    /// Puts a member on the roster with what it joined (or was restored) with: its framing, role,
    /// address and token expiry.
    pub(super) fn add(&mut self, user: User, socket: S, kept: &Joining, now_ms: u64) {
        let framing = kept.framing;
        if framing == Framing::Batch {
            self.batched += 1;
        }
        match socket.shard() {
            None => self.local.push(user.id.clone()),
            Some(k) => {
                let i = usize::from(k.max(1)) - 1;
                if self.on_shards.len() <= i {
                    self.on_shards.resize(i + 1, 0);
                }
                self.on_shards[i] += 1;
            }
        }
        if let Some(uid) = user.identity() {
            match self.identities.get_mut(uid) {
                Some(n) => *n += 1,
                None => {
                    self.identities.insert(uid.to_string(), 1);
                }
            }
        }
        let member = Member {
            user,
            socket,
            framing,
            role: kept.role,
            address: kept.address,
            expires: kept.expires,
            bucket: TokenBucket::full(&self.limits.rate, now_ms as f64),
            searches: TokenBucket::full(&self.limits.search, now_ms as f64),
            strikes: 0,
            seen_ms: now_ms,
        };
        if let Some(old) = self.members.insert(member.user.id.clone(), member) {
            // The same id again (a re-join): `add` counted the new one, `forget` takes the old off.
            self.forget(&old);
        }
        self.expires_at(kept.expires);
    }

    /// Takes `conn_id` off the roster.
    pub(super) fn remove(&mut self, conn_id: &str) -> Option<Member<S>> {
        let gone = self.members.remove(conn_id)?;
        self.forget(&gone);
        Some(gone)
    }

    pub(super) fn forget(&mut self, gone: &Member<S>) {
        if gone.framing == Framing::Batch {
            self.batched -= 1;
        }
        if let Some(uid) = gone.user.identity() {
            if let Some(n) = self.identities.get_mut(uid) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.identities.remove(uid);
                    self.inbox.here(uid, Here::Went);
                }
            }
        }
        match gone.socket.shard() {
            None => {
                if let Some(i) = self.local.iter().position(|id| *id == gone.user.id) {
                    self.local.swap_remove(i);
                }
            }
            Some(k) => {
                if let Some(n) = self.on_shards.get_mut(usize::from(k.max(1)) - 1) {
                    *n = n.saturating_sub(1);
                }
            }
        }
    }

    /// The members whose socket this object holds, with their ids (for its own fan-out).
    pub fn local_members(&self) -> impl Iterator<Item = (&str, &Member<S>)> {
        self.local
            .iter()
            .filter_map(|id| self.members.get(id).map(|m| (id.as_str(), m)))
    }

    /// How many members this object holds itself.
    pub fn local_count(&self) -> usize {
        self.local.len()
    }

    /// How many members each shard holds: shard `k` at index `k - 1` (shards past the end hold none).
    pub fn shard_counts(&self) -> &[usize] {
        &self.on_shards
    }

    /// The connections on shard `k`.
    pub fn on_shard(&self, k: u16) -> impl Iterator<Item = &str> {
        self.members
            .iter()
            .filter(move |(_, m)| m.socket.shard() == Some(k))
            .map(|(id, _)| id.as_str())
    }

    /// How many connections on the roster take batched frames (none: every frame goes out alone).
    pub fn batched(&self) -> usize {
        self.batched
    }

    /// Whether `conn_id` is on the roster and takes batched frames.
    pub fn is_batched(&self, conn_id: &str) -> bool {
        self.members
            .get(conn_id)
            .is_some_and(|m| m.framing == Framing::Batch)
    }

    /// Names the room (the Durable Object learns its name from the first request after a wake).
    pub fn set_name(&mut self, name: &str) {
        if self.name != name {
            self.name = name.to_string();
        }
    }

    /// Whether `conn_id` is on the roster.
    pub fn has(&self, conn_id: &str) -> bool {
        self.members.contains_key(conn_id)
    }

    /// The socket of connection `conn_id`: on the roster, or being closed by the room (its last
    /// answers go out before the close).
    pub fn socket(&self, conn_id: &str) -> Option<&S> {
        self.members.get(conn_id).map(|m| &m.socket).or_else(|| {
            self.closing
                .iter()
                .find(|(id, _)| id == conn_id)
                .map(|(_, socket)| socket)
        })
    }

    /// The user of connection `conn_id`, if it is on the roster.
    pub fn user(&self, conn_id: &str) -> Option<&User> {
        self.members.get(conn_id).map(|m| &m.user)
    }

    /// Every open connection's id and socket.
    pub fn sockets(&self) -> impl Iterator<Item = (&str, &S)> {
        self.members.iter().map(|(id, m)| (id.as_str(), &m.socket))
    }

    /// Every open connection with its id and framing.
    pub fn members(&self) -> impl Iterator<Item = (&str, &Member<S>)> {
        self.members.iter().map(|(id, m)| (id.as_str(), m))
    }

    /// The socket of a connection the room closed, for the Durable Object to close it.
    pub fn take_closing(&mut self, conn_id: &str) -> Option<S> {
        let pos = self.closing.iter().position(|(id, _)| id == conn_id)?;
        Some(self.closing.swap_remove(pos).1)
    }

    /// Whether one more connection fits under `MAX_CONNECTIONS`.
    pub fn admit(&self) -> Result<(), Problem> {
        if self.members.len() >= self.limits.max_connections as usize {
            return Err(Problem::new(
                ErrorCode::RoomFull,
                format!("room is full ({} connections)", self.limits.max_connections),
            ));
        }
        Ok(())
    }

    /// A connection has been accepted: welcome it and tell the others. An identity is noted as
    /// someone who has been in the room, by the name it uses now (`@name` mentions it). Fails (and
    /// adds nobody) when the history cannot be read.
    pub fn join(
        &mut self,
        user: User,
        socket: S,
        resume: impl Into<Joining>,
        history: &mut dyn History,
        now_ms: u64,
    ) -> Result<Vec<Effect>, Problem> {
        let resume = resume.into();
        let banned_uid = user
            .uid
            .as_deref()
            .is_some_and(|uid| self.rules.banned(uid));
        if banned_uid || self.rules.address_banned(resume.address, now_ms) {
            return Err(Problem::new(
                ErrorCode::Banned,
                "a moderator banned you from this room",
            ));
        }
        let (from, cap) = match resume.after {
            Some(after) => (after, MAX_PAGE),
            None => (0, WELCOME_HISTORY),
        };
        let messages = self.read(history, from, cap, true)?;
        let missed = self.last_seq.saturating_sub(from);
        let mut truncated = missed > messages.len() as u64;
        let changes = match (resume.after, resume.since) {
            (Some(after), Some(since)) => {
                let mut changes = history
                    .changes(after, since, MAX_PAGE + 1)
                    .map_err(storage)?;
                if changes.len() > MAX_PAGE {
                    changes.truncate(MAX_PAGE);
                    truncated = true;
                }
                Some(changes)
            }
            _ => None,
        };
        let counts = match user.identity() {
            Some(uid) => {
                history.met(uid, &user.name).map_err(storage)?;
                let counts = self.counts(uid, history)?;
                let unread = history.unread(uid, counts.read_seq).map_err(storage)?;
                Some((counts, unread))
            }
            None => None,
        };
        let (counts, unread) = match counts {
            Some((counts, unread)) => (Some(counts), unread),
            None => (None, 0),
        };
        self.add(user.clone(), socket, &resume, now_ms);
        if let Some(uid) = user.identity() {
            if self.identities.get(uid) == Some(&1) {
                self.inbox.here(uid, Here::Came(user.name.clone()));
            }
        }
        let crowded = self.crowded();
        let reads = match crowded {
            true => None,
            false => Some(self.reads_of_others(&user, history)?),
        };
        let welcome = ServerFrame::Welcome {
            room: &self.name,
            you: &user,
            members: match crowded {
                true => self.page(None, WELCOME_MEMBERS).0,
                false => self.members.values().map(|m| &m.user).collect(),
            },
            history: &messages,
            last_seq: self.last_seq,
            truncated,
            limits: Announced::of(&self.limits),
            rev: self.rev,
            read_seq: counts.as_ref().map(|c| c.read_seq),
            unread,
            changes: changes.as_deref(),
            online: crowded.then_some(self.members.len()),
            role: resume.role,
            expires: resume.expires,
            slow_mode: self.rules.slow_mode_secs(),
            identity_required: self.rules.identity_required(),
            muted_until: user
                .uid
                .as_deref()
                .and_then(|uid| self.rules.muted_until(uid, now_ms)),
            reads,
            mentions: counts.as_ref().map(|c| c.mentions),
            thread_unread: counts.as_ref().map(|c| c.thread_unread),
            threads: counts.as_ref().map_or(&[], |c| &c.threads),
            retention: self.retained(),
        }
        .to_json();
        let mut effects = vec![Effect::Send {
            to: user.id.clone(),
            frame: welcome,
        }];
        if crowded {
            self.presence.joined(&user);
            effects.extend(self.tell_presence(now_ms));
        } else {
            effects.push(Effect::Broadcast {
                except: Some(user.id.clone()),
                frame: ServerFrame::Join { user: &user }.to_json(),
            });
        }
        Ok(effects)
    }

    /// How far the other identified members online have read, one entry per author (its first
    /// connection names it), from the furthest-read [`WELCOME_READS`] marks: one bounded query.
    fn reads_of_others(
        &self,
        you: &User,
        history: &dyn History,
    ) -> Result<Vec<ReadPosition<'_>>, Problem> {
        let marks = history.recent_reads(WELCOME_READS).map_err(storage)?;
        let mut reads = Vec::new();
        for (uid, seq) in marks {
            if you.identity() == Some(uid.as_str()) || seq == 0 {
                continue;
            }
            if let Some(m) = self
                .members
                .values()
                .find(|m| m.user.identity() == Some(&uid))
            {
                reads.push(ReadPosition { user: &m.user, seq });
            }
        }
        Ok(reads)
    }

    /// Whether the room is above the presence threshold: presence then goes by counts (see
    /// [`crate::presence`]).
    pub(super) fn crowded(&self) -> bool {
        self.members.len() > self.limits.presence_threshold as usize
    }

    /// Up to `limit` members whose id sorts after `after` (from the first without), and the cursor for
    /// the next page (`None` when this one reaches the end).
    pub(super) fn page(&self, after: Option<&str>, limit: usize) -> (Vec<&User>, Option<&str>) {
        let from = match after {
            Some(id) => Bound::Excluded(id),
            None => Bound::Unbounded,
        };
        let mut rest = self
            .members
            .range::<str, _>((from, Bound::Unbounded))
            .map(|(_, m)| &m.user);
        let page: Vec<&User> = rest.by_ref().take(limit).collect();
        let next = match (rest.next(), page.last()) {
            (Some(_), Some(last)) => Some(last.id.as_str()),
            _ => None,
        };
        (page, next)
    }

    /// A roster page as the HTTP API returns it: `{"online","members","next"}`.
    pub fn roster(&self, after: Option<&str>, limit: usize) -> serde_json::Value {
        let (members, next) = self.page(after, limit);
        serde_json::json!({"online": self.members.len(), "members": members, "next": next})
    }

    /// The `presence` frame for what waits, if its time has come; else a wake-up for when it will.
    pub(super) fn tell_presence(&mut self, now_ms: u64) -> Option<Effect> {
        if !self.presence.pending() {
            return None;
        }
        let online = self.members.len();
        if let Err(after_ms) = self.presence.due(now_ms, online) {
            return Some(Effect::Wake { after_ms });
        }
        let told = self.presence.take(now_ms);
        Some(Effect::Broadcast {
            except: None,
            frame: ServerFrame::Presence {
                online,
                joined: &told.joined,
                left: &told.left,
                joins: told.joins,
                leaves: told.leaves,
            }
            .to_json(),
        })
    }

    /// Whether it is time to look for silent sockets: at most every quarter of `SILENT_AFTER`. The
    /// Durable Object asks on the room's events (a join, a frame, a close, a timer), never on a timer of
    /// its own: a room with nothing going on may hibernate, and waking it only to look would cost more
    /// than a stale entry in a roster nobody is reading.
    pub fn sweep_due(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.swept_ms) >= self.silent_after_ms() / 4
    }

    pub(super) fn silent_after_ms(&self) -> u64 {
        u64::from(self.limits.silent_after_secs) * 1000
    }

    /// Drops the connections silent for longer than `SILENT_AFTER`: a browser that vanished without a
    /// close (a refreshed tab, a closed laptop) can leave a socket the runtime still lists (workerd
    /// #1187), and the roster would show someone who left. `last_ping` gives the runtime's time of a
    /// socket's last auto-answered `ping` (`getWebSocketAutoResponseTimestamp`); only a socket that
    /// has pinged at all is judged, so a client that never pings (protocol v1 allows it) is never
    /// taken for gone. Its last frame counts too.
    pub fn sweep(&mut self, now_ms: u64, last_ping: impl Fn(&S) -> Option<u64>) -> Vec<Effect> {
        self.swept_ms = now_ms;
        let limit = self.silent_after_ms();
        let silent: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| {
                last_ping(&m.socket)
                    .is_some_and(|ping| now_ms.saturating_sub(ping.max(m.seen_ms)) > limit)
            })
            .map(|(id, _)| id.clone())
            .collect();
        let mut effects = Vec::new();
        for id in silent {
            effects.extend(self.close(&id, CLOSE_SILENT, "silent: no ping for too long", now_ms));
        }
        effects
    }

    /// `gone` has left the roster: the others hear a `leave`, or above the threshold (as the room was
    /// before it left) the next `presence` frame.
    pub(super) fn told_gone(&mut self, gone: &User, now_ms: u64) -> Option<Effect> {
        if self.members.len() >= self.limits.presence_threshold as usize {
            self.presence.left(gone);
            return self.tell_presence(now_ms);
        }
        Some(Effect::Broadcast {
            except: Some(gone.id.clone()),
            frame: ServerFrame::Leave { user: gone }.to_json(),
        })
    }

    /// A connection closed or failed: drop it from the roster and tell the others. A no-op for a
    /// connection the room no longer has (its close was already handled).
    pub fn leave(&mut self, conn_id: &str, now_ms: u64) -> Vec<Effect> {
        match self.remove(conn_id) {
            Some(gone) => self.told_gone(&gone.user, now_ms).into_iter().collect(),
            None => Vec::new(),
        }
    }

    /// Every connection of the person `uid`, told why (`code`, `message`) and then [`Room::close`]d
    /// with `code`'s close code: a ban, a kick, an erasure.
    pub(super) fn close_person(
        &mut self,
        uid: &str,
        code: ErrorCode,
        message: &str,
        now_ms: u64,
    ) -> Vec<Effect> {
        let targets: Vec<String> = self
            .members
            .values()
            .filter(|m| m.user.uid.as_deref() == Some(uid))
            .map(|m| m.user.id.clone())
            .collect();
        let mut effects = Vec::new();
        for conn in targets {
            effects.push(error_to(&conn, code, message, None));
            effects.extend(self.close(&conn, code.close_code(), code.as_str(), now_ms));
        }
        effects
    }

    /// The room closes `conn_id` itself: it leaves the roster at once (the others hear it), and its
    /// socket waits in `closing` for the Durable Object to close it.
    ///
    /// Answers to this connection still held in the queue (its `rate_limited` errors behind a queued
    /// message) are sent first, so a client closed for flooding has been told why; the acks of its
    /// queued messages are lost with the socket, and its retries after reconnecting are deduplicated.
    pub(super) fn close(
        &mut self,
        conn_id: &str,
        code: u16,
        reason: &'static str,
        now_ms: u64,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        for queued in self.queue.iter_mut().chain(self.holding.queued_mut()) {
            if let Queued::Effects(held) = queued {
                let (mine, others): (Vec<Effect>, Vec<Effect>) = std::mem::take(held)
                    .into_iter()
                    .partition(|e| matches!(e, Effect::Send { to, .. } if to == conn_id));
                effects.extend(mine);
                *held = others;
            }
        }
        effects.push(Effect::Close {
            to: conn_id.to_string(),
            code,
            reason,
        });
        if let Some(gone) = self.remove(conn_id) {
            effects.extend(self.told_gone(&gone.user, now_ms));
            self.closing.push((conn_id.to_string(), gone.socket));
        }
        effects
    }
}
