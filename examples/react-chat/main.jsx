// The React example (examples/react-chat): a join form, then a room drawn by `useRoom` — opened from
// the offline store before it connects — with its composer, typing line, "Load older", and a search
// drawn by `useSearch`. It uses only the public packages, @edge-chat/react and @edge-chat/client.
// Built by build.mjs (esbuild, as the SDK is) into public/example/; `make example` serves it at
// http://127.0.0.1:8787/example/.

import { snippetParts } from '@edge-chat/client';
import { ChatProvider, useRoom, useSearch } from '@edge-chat/react';
import { memo, StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';

const params = new URLSearchParams(location.search);

function App() {
  const [who, setWho] = useState(() => (params.get('name') && params.get('room') ? { name: params.get('name'), room: params.get('room') } : null));
  if (!who) return <Join onJoin={setWho} />;
  return (
    <ChatProvider name={who.name}>
      <Room room={who.room} />
    </ChatProvider>
  );
}

function Join({ onJoin }) {
  const [name, setName] = useState('');
  const [room, setRoom] = useState('lobby');
  const join = (e) => {
    e.preventDefault();
    if (!name.trim() || !room.trim()) return;
    history.replaceState(null, '', `?${new URLSearchParams({ name: name.trim(), room: room.trim() })}`);
    onJoin({ name: name.trim(), room: room.trim() });
  };
  return (
    <main>
      <h1>edge-chat, in React</h1>
      <form onSubmit={join}>
        <input aria-label="Your name" placeholder="Your name" value={name} onChange={(e) => setName(e.target.value)} />
        <input aria-label="Room" value={room} onChange={(e) => setRoom(e.target.value)} />
        <button>Join</button>
      </form>
    </main>
  );
}

function Room({ room }) {
  const chat = useRoom(room);
  const [q, setQ] = useState('');
  return (
    <main>
      <header>
        <h1>{room}</h1>
        <span className="status" role="status">{chat.status}{chat.fromCache && chat.status !== 'online' ? ' · from this device' : ''}</span>
        {chat.unread > 0 && <span className="unread">{chat.unread} unread</span>}
        <span className="online">{chat.online} here</span>
      </header>
      <input type="search" aria-label="Search this room" placeholder="Search…" value={q} onChange={(e) => setQ(e.target.value)} />
      {q.trim() && <Results room={room} q={q} />}
      {chat.hasOlder && <button onClick={() => chat.loadOlder()}>Load older messages</button>}
      <Messages messages={chat.messages} pending={chat.pending} markRead={chat.markRead} />
      <p className="typing" aria-live="polite">{chat.typing.length ? `${chat.typing.map((u) => u.name).join(', ')} typing…` : ''}</p>
      <Composer send={chat.send} sendTyping={chat.sendTyping} />
    </main>
  );
}

// memo: typing or presence changes give the same `messages` array, so the list is not redrawn.
const Messages = memo(function Messages({ messages, pending, markRead }) {
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

function Composer({ send, sendTyping }) {
  const [text, setText] = useState('');
  const submit = (e) => {
    e.preventDefault();
    if (!text.trim()) return;
    send(text).catch(() => {}); // a refusal stays in `pending`, marked
    setText('');
  };
  return (
    <form onSubmit={submit}>
      <input aria-label="Message" value={text} onChange={(e) => { setText(e.target.value); sendTyping(); }} />
      <button>Send</button>
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
