//! The offline shell: a service worker that keeps the page's own files (the HTML, the modules, the
//! stylesheet, the SDK bundle) so that a reload while the server is down still shows the page — which
//! then says it is reconnecting and keeps the outbox — instead of the browser's error page.
//!
//! Network first: while the server answers, every file comes from it (a deploy shows at the next
//! load, and `wrangler dev` edits at once); the copy is only for when it does not. Nothing of the
//! conversation is kept here: /api/ and the socket (/ws/) never pass through this worker's cache.
//!
//! Notifications: a Web Push from the person's inbox (decrypted by the browser) is shown with the
//! room's name as its tag, so a newer one for the same room replaces the older; a click focuses a tab
//! already open on the page (and moves it to the room) or opens one.

const CACHE = 'edge-chat-shell-v2';
const SHELL = ['/', '/style.css', '/app.js', '/format.js', '/markup.js', '/favicon.svg', '/sdk/edge-chat-client.js'];

self.addEventListener('install', (event) => {
  // The shell as it is now; modules under /app/ are added as the page loads them (below).
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/ws/')) return;
  // Only the chat's own page is the shell: another page of this origin (the React example at
  // /example/) must not be kept in its place.
  if (event.request.mode === 'navigate' && url.pathname !== '/') return;
  // A page address (any room's fragment is not sent) is the one shell: '/'.
  const key = event.request.mode === 'navigate' ? '/' : url.pathname;
  event.respondWith(
    fetch(event.request).then(
      (res) => {
        if (res.ok) {
          const copy = res.clone();
          event.waitUntil(caches.open(CACHE).then((cache) => cache.put(key, copy)));
        }
        return res;
      },
      async (error) => (await caches.match(key)) ?? Promise.reject(error),
    ),
  );
});

/** The notification's title and body for a push payload (see docs/API.md, "Notifications"). */
function describe(p) {
  const where = p.kind === 'dm' ? p.from : `${p.from} in ${p.room}`;
  const title = p.kind === 'mention' ? `${where} mentioned you` : where;
  const more = p.unread > 1 ? ` (${p.unread} unread)` : '';
  return { title, body: (p.text ?? 'New message') + more };
}

self.addEventListener('push', (event) => {
  let payload;
  try {
    payload = event.data?.json();
  } catch {
    payload = null;
  }
  if (!payload || typeof payload.room !== 'string') return;
  const { title, body } = describe(payload);
  event.waitUntil(
    self.registration.showNotification(title, {
      body,
      tag: `room:${payload.room}`,
      renotify: true,
      icon: '/favicon.svg',
      data: { url: payload.url, room: payload.room, seq: payload.seq },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const target = new URL(event.notification.data?.url ?? '/', self.location.origin);
  // Only our own origin: a payload cannot send the click elsewhere.
  if (target.origin !== self.location.origin) return;
  event.waitUntil(
    (async () => {
      const tabs = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const tab = tabs.find((c) => new URL(c.url).origin === self.location.origin);
      if (tab) {
        await tab.focus();
        tab.postMessage({ type: 'open', url: target.href });
        return;
      }
      await self.clients.openWindow(target.href);
    })(),
  );
});
