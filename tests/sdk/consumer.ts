// An app that uses @edge-chat/client, type-checked by tests/sdk.test.mjs with `tsc --strict` against the
// published package layout (package.json `exports` → types/index.d.ts). Never run: it proves that the
// types say what docs/SDK.md says, and the `@ts-expect-error` lines prove they are not `any`.

import { ChatClient, ChatError, SERVER_ERROR_CODES, clearCache, inbox, unsentEntries, type ChatMessage, type ErrorCode, type InboxEntry, type WelcomeFrame } from '@edge-chat/client';

const room = new ChatClient({
  room: 'lobby',
  name: 'bot',
  origin: 'https://chat.example.com',
  getToken: async ({ room, reason }) => (reason === 'renew' ? `token-for-${room}` : null),
  backoff: { base: 1000, cap: 30_000 },
});

room.on('message', ({ message, own, live }) => {
  const seq: number = message.seq;
  const replyTo: number | null = message.reply_to;
  if (!own && live) console.log(seq, replyTo, message.from.name, message.text);
});
room.on('message_updated', ({ message }) => console.log(message.version, message.deleted));
room.on('reaction', ({ reaction }) => console.log(reaction.emoji, reaction.on, reaction.counts[reaction.emoji]));
room.on('presence', ({ online }) => console.log(online));
room.on('status', ({ state }) => {
  const s: 'connecting' | 'online' | 'waiting' | 'reconnecting' | 'refused' | 'closed' = state;
  return s;
});
room.on('refused', ({ code, closeCode }) => console.log(code, closeCode));
room.on('error', ({ error }) => console.log(error.code));
room.addEventListener('typing', (event) => console.log(event.detail.names.join(', ')));
// @ts-expect-error a message event has no `online`
room.on('message', ({ online }) => online);
// @ts-expect-error no such event
room.on('messages', () => {});

async function main(): Promise<void> {
  const welcome: WelcomeFrame = await room.ready();
  const most: number = welcome.limits.text;
  const sent = await room.send('hello', { replyTo: welcome.last_seq || null });
  const seq: number = sent.seq;
  const edited = await room.edit(seq, `hello! (${most})`);
  const rev: number = edited.rev;
  await room.react(seq, '👍');
  await room.react(seq, '👍', false);
  room.read(seq);
  const page = await room.history({ before: seq, limit: 10 });
  const first: ChatMessage | undefined = page.messages[0];
  const { results, hasMore } = await room.search('hello', { limit: 5 });
  const snippet: string | undefined = results[0]?.snippet;
  try {
    await room.delete(seq);
  } catch (e) {
    if (e instanceof ChatError) {
      const code: ErrorCode = e.code;
      if (code === 'forbidden' || code === 'offline') console.log(e.message, e.closeCode, e.id);
    }
  }
  await room.ban('uid', { reason: 'spam' });
  await room.mute('uid', 600);
  await room.slowMode(30);
  const log = await room.moderationLog({ limit: 10 });
  console.log(rev, first?.text, hasMore, snippet, log.records[0]?.action, log.rules.slow_mode, SERVER_ERROR_CODES.length);
  // @ts-expect-error not an error code
  const bad: ErrorCode = 'nope';
  // @ts-expect-error send takes text
  await room.send(42);
  console.log(bad);
  room.stop();
}

// A WebSocket implementation passed in (Node 20 has none): anything with send and close.
class Socket {
  constructor(readonly url: string) {}
  send(data: string): void {
    console.log(this.url, data);
  }
  close(): void {}
}
new ChatClient({ room: 'r', name: 'n', origin: 'http://127.0.0.1:8787', WebSocket: Socket, key: null });

// A person's inbox: one socket for every room.
const mine = inbox({ origin: 'https://chat.example.com', name: 'bot' });
mine.on('entry', ({ entry, previous }) => {
  const unread: number = entry.unread;
  const before: number | null = previous?.unread ?? null;
  console.log(entry.room, unread, before, entry.last?.text, entry.dm?.map((p) => p.name));
});
mine.on('online', ({ uid, online, lastSeen }) => console.log(uid, online, lastSeen));
mine.on('totals', ({ unread, mentions }) => console.log(unread + mentions));
const newest: InboxEntry | undefined = mine.entries()[0];
console.log(newest?.room);
// @ts-expect-error an inbox has no such event
mine.on('message', () => {});
void mine.openDm(['u-bob', 'u-cy']).then((room: string) => room.length);

// Sign-out: what would be discarded, then nothing kept.
async function signOut(): Promise<void> {
  const unsent = await unsentEntries(undefined, [room]);
  for (const e of unsent) console.log(e.room, e.createdAt, e.kind === 'message' ? e.text : e.frame.type);
  await room.clearCache();
  await clearCache();
}

void main();
void signOut();
