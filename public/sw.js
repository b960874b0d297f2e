//! The offline shell: a service worker that keeps the page's own files (the HTML, the modules, the
//! stylesheet, the SDK bundle) so that a reload while the server is down still shows the page — which
//! then says it is reconnecting and keeps the outbox — instead of the browser's error page.
//!
//! Network first: while the server answers, every file comes from it (a deploy shows at the next
//! load, and `wrangler dev` edits at once); the copy is only for when it does not. Nothing of the
//! conversation is kept here: /api/ and the socket (/ws/) never pass through this worker's cache.

const CACHE = 'edge-chat-shell-v1';
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
