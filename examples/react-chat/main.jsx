// The React example (examples/react-chat): a join form, then three views side by side — the person's
// rooms drawn by `useInbox` (unread and mention badges; a click opens one, and any room can be opened by
// name), the room drawn by `useRoom` — opened from the offline store before it connects — with its
// composer, typing line, "Load older" and a search drawn by `useSearch`, and a message's thread drawn
// by `useThread` (its root, its replies, a reply box). It uses only the public packages,
// @edge-chat/react and @edge-chat/client. Built by build.mjs (esbuild, as the SDK is) into
// public/example/; `make example` serves it at http://127.0.0.1:8787/example/.

import { snippetParts } from '@edge-chat/client';
import { ChatProvider, useInbox, useRoom, useSearch, useThread } from '@edge-chat/react';
import { memo, StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';

const params = new URLSearchParams(location.search);

/** Keeps the person and the room in the address, so a reload comes back to them. */
function remember(name, room) {
  history.replaceState(null, '', `?${new URLSearchParams({ name, room })}`);
}

function App() {
  const [who, setWho] = useState(() => (params.get('name') && params.get('room') ? { name: params.get('name'), room: params.get('room') } : null));
  if (!who) return <Join onJoin={setWho} />;
  return (
    <ChatProvider name={who.name}>
      <Chat name={who.name} first={who.room} />
    </ChatProvider>
  );
}

function Join({ onJoin }) {
  const [name, setName] = useState('');
  const [room, setRoom] = useState('lobby');
  const join = (e) => {
    e.preventDefault();
    if (!name.trim() || !room.trim()) return;
    remember(name.trim(), room.trim());
    onJoin({ name: name.trim(), room: room.trim() });
  };
  return (
    <main className="join">
      <h1>edge-chat, in React</h1>
      <form onSubmit={join}>
        <input aria-label="Your name" placeholder="Your name" value={name} onChange={(e) => setName(e.target.value)} />
        <input aria-label="Room" value={room} onChange={(e) => setRoom(e.target.value)} />
        <button>Join</button>
      </form>
    </main>
  );
}

/** The three views: the inbox, the room on screen, and the thread opened in it (if any). */
function Chat({ name, first }) {
  const [room, setRoom] = useState(first);
  const [thread, setThread] = useState(null); // {room, root}
  const open = (next) => {
    setRoom(next);
    remember(name, next);
  };
  const root = thread?.room === room ? thread.root : null;
  return (
    <div className={root === null ? 'chat' : 'chat threaded'}>
      <Inbox current={room} onOpen={open} />
      {/* keyed by room: a room's search box and scroll start afresh in the next one */}
      <Room key={room} room={room} onThread={(seq) => setThread({ room, root: seq })} />
      {root !== null && <Thread key={`${room} ${root}`} room={room} root={root} onClose={() => setThread(null)} />}
    </div>
  );
}

/** A count for the eye, said in words to a screen reader. */
function Badge({ className, shown, words }) {
  return (
    <span className={`badge ${className}`}>
      <span aria-hidden="true">{shown}</span>
      <span className="visually-hidden">{words}</span>
    </span>
  );
}

const entryName = (entry) => (entry.dm ? entry.dm.map((p) => p.name ?? 'someone').join(', ') || 'just you' : entry.room);

function Inbox({ current, onOpen }) {
  const inbox = useInbox();
  const [other, setOther] = useState('');
  const go = (e) => {
    e.preventDefault();
    if (!other.trim()) return;
    onOpen(other.trim());
    setOther('');
  };
  return (
    <nav className="inbox" aria-label="Your rooms">
      <h2>
        Rooms {inbox.totals.unread > 0 && <Badge className="unread" shown={inbox.totals.unread} words={`, ${inbox.totals.unread} unread in all`} />}
      </h2>
      {inbox.fromCache && <p className="hint">from this device</p>}
      <ul>
        {inbox.entries.map((entry) => (
          <li key={entry.room} className={entry.unread > 0 && !entry.muted ? 'entry unread' : 'entry'} data-room={entry.room}>
            <button type="button" aria-current={entry.room === current ? 'page' : undefined} onClick={() => onOpen(entry.room)}>
              <span className="entry-head">
                <span className="entry-name">{entryName(entry)}</span>
                {entry.mentions > 0 && <Badge className="mention" shown={`@${entry.mentions}`} words={`, ${entry.mentions} mentioning you`} />}
                {entry.unread > 0 && !entry.muted && <Badge className="unread" shown={entry.unread > 99 ? '99+' : entry.unread} words={`, ${entry.unread} unread`} />}
              </span>
              <span className="preview">{entry.last ? `${entry.last.name}: ${entry.last.text}` : 'No messages yet'}</span>
            </button>
          </li>
        ))}
      </ul>
      {inbox.status === 'online' && !inbox.entries.length && <p className="hint">Rooms you join appear here.</p>}
      <form onSubmit={go}>
        <input aria-label="Open a room" placeholder="Another room" value={other} onChange={(e) => setOther(e.target.value)} />
        <button>Open</button>
      </form>
    </nav>
  );
}

function Room({ room, onThread }) {
  const chat = useRoom(room);
  const [q, setQ] = useState('');
  return (
    <main className="room">
      <header>
        <h1>{room}</h1>
        <span className="status" role="status">{chat.status}{chat.fromCache && chat.status !== 'online' ? ' · from this device' : ''}</span>
        {chat.unread > 0 && <span className="unread">{chat.unread} unread</span>}
        <span className="online">{chat.online} here</span>
      </header>
      <input type="search" aria-label="Search this room" placeholder="Search…" value={q} onChange={(e) => setQ(e.target.value)} />
      {q.trim() && <Results room={room} q={q} />}
      {chat.hasOlder && <button onClick={() => chat.loadOlder()}>Load older messages</button>}
      <Messages messages={chat.messages} pending={chat.pending} markRead={chat.markRead} onThread={onThread} />
      <p className="typing" aria-live="polite">{chat.typing.length ? `${chat.typing.map((u) => u.name).join(', ')} typing…` : ''}</p>
      <Composer label="Message" send={chat.send} sendTyping={chat.sendTyping} />
    </main>
  );
}

/** What a root's thread button says: how many replies it has, or that one can start. */
function threadLabel(m) {
  const n = typeof m.thread === 'object' && m.thread ? m.thread.replies : 0;
  return n ? `${n} ${n === 1 ? 'reply' : 'replies'}` : 'Reply in thread';
}

// memo: typing or presence changes give the same `messages` array, so the list is not redrawn.
const Messages = memo(function Messages({ messages, pending, markRead, onThread }) {
  const last = messages.at(-1)?.seq;
  useEffect(() => {
    if (last != null && document.visibilityState === 'visible') markRead(last);
  }, [last, markRead]);
  return (
    <ul className="messages" aria-label="Conversation">
      {messages.map((m) => (
        <li key={m.seq} className="msg" data-seq={m.seq}>
          <span className="who">{m.from?.name}</span>
          <span className="text">{m.deleted ? '(deleted)' : m.text}</span>
          {/* A reply also shown in the room is the thread's; its root has the button. */}
          {!m.deleted && typeof m.thread !== 'number' && (
            <button type="button" className="link thread-open" onClick={() => onThread(m.seq)}>{threadLabel(m)}</button>
          )}
        </li>
      ))}
      {pending.map((e) => (
        <li key={e.key} className="msg pending">
          <span className="who">you</span>
          <span className="text">{e.text}</span> {e.error ? `(not sent: ${e.error})` : '(sending…)'}
        </li>
      ))}
    </ul>
  );
});

function Thread({ room, root, onClose }) {
  const thread = useThread(room, root);
  const last = thread.replies.at(-1)?.seq;
  const { markRead } = thread;
  useEffect(() => {
    if (last != null && document.visibilityState === 'visible') markRead(last);
  }, [last, markRead]);
  return (
    <aside className="thread" aria-label="Thread">
      <header>
        <h2>Thread</h2>
        <button type="button" className="link" onClick={onClose}>Close thread</button>
      </header>
      {thread.root && (
        <p className="root">
          <span className="who">{thread.root.from?.name}</span>
          <span className="text">{thread.root.deleted ? '(deleted)' : thread.root.text}</span>
        </p>
      )}
      {thread.status === 'loading' && !thread.replies.length && <p className="hint">Loading the thread…</p>}
      {thread.status === 'error' && <p className="hint">Could not load the thread: {thread.error?.message}</p>}
      <ul className="replies" aria-label="Replies">
        {thread.replies.map((m) => (
          <li key={m.seq} className="msg" data-seq={m.seq}>
            <span className="who">{m.from?.name}</span>
            <span className="text">{m.deleted ? '(deleted)' : m.text}</span>
          </li>
        ))}
        {thread.pending.map((e) => (
          <li key={e.key} className="msg pending">
            <span className="who">you</span>
            <span className="text">{e.text}</span> {e.error ? `(not sent: ${e.error})` : '(sending…)'}
          </li>
        ))}
      </ul>
      {thread.hasMore && <button onClick={() => thread.loadMore()}>Load more replies</button>}
      <Composer label="Reply in thread" send={thread.send} />
    </aside>
  );
}

function Composer({ label, send, sendTyping }) {
  const [text, setText] = useState('');
  const submit = (e) => {
    e.preventDefault();
    if (!text.trim()) return;
    send(text).catch(() => {}); // a refusal stays in `pending`, marked
    setText('');
  };
  return (
    <form onSubmit={submit}>
      <input aria-label={label} value={text} onChange={(e) => { setText(e.target.value); sendTyping?.(); }} />
      <button>{label === 'Message' ? 'Send' : 'Reply'}</button>
    </form>
  );
}

function Results({ room, q }) {
  const search = useSearch(room, q);
  return (
    <section className="results" aria-label="Search results">
      {search.status === 'loading' && <p>Searching…</p>}
      {search.status === 'error' && <p>Could not search: {search.error?.message}</p>}
      {search.status === 'done' && !search.results.length && <p>No messages match.</p>}
      <ol>
        {search.results.map((r) => (
          <li key={r.seq} className="hit">
            <span className="who">{r.from?.name}</span>
            {snippetParts(r.snippet).map((p, i) => (p.mark ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))}
          </li>
        ))}
      </ol>
      {search.hasMore && <button onClick={() => search.more()}>More results</button>}
    </section>
  );
}

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
