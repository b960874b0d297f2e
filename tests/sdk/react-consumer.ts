// A consumer of @edge-chat/react under `tsc --strict` (tests/react.test.mjs): if the declarations
// drift from what an app writes, this stops compiling.

import { MemoryStore } from '@edge-chat/client';
import type { ChatMessage, SearchHit } from '@edge-chat/client';
import { ChatHub, ChatProvider, useChat, useInbox, useRoom, useSearch, useThread } from '@edge-chat/react';
import type { RoomState, SearchState, ThreadState } from '@edge-chat/react';
import { createElement as h, type ReactNode } from 'react';

function Room({ room }: { room: string }): ReactNode {
  const chat: RoomState = useRoom(room);
  const hub = useChat();
  const last: ChatMessage | undefined = chat.messages.at(-1);
  if (last) chat.markRead(last.seq);
  void chat.send('hi', { replyTo: last?.seq ?? null }).then((sent) => sent.seq + 1);
  void chat.react(1, '👍', false);
  void hub.clearCache();
  const search: SearchState = useSearch(room, 'hello');
  const thread: ThreadState = useThread(room, 1);
  void thread.send('in the thread', { alsoInRoom: true });
  const replies: ChatMessage[] = thread.replies;
  void replies;
  const box = useInbox();
  const badge: number = box.totals.unread + box.entries.length;
  void badge;
  void box.mute('lobby', true).then((e) => e.muted);
  const hits: SearchHit[] = search.results;
  return h('p', null, `${chat.status} ${chat.pending.length} ${hits.length} ${chat.typing.map((u) => u.name).join()}`);
}

export const app = h(ChatProvider, { origin: 'https://chat.example.com', name: 'ann', store: new MemoryStore(), lingerMs: 500 }, h(Room, { room: 'lobby' }));
export const withHub = h(ChatProvider, { hub: new ChatHub({ origin: 'https://chat.example.com', name: 'ann' }) });
