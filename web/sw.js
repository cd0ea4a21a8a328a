// Panelflow's service worker: a plain script, no build step.
//
// - The app shell (index.html, styles, manifest, icons, src/ and the Firebase SDK files the
//   import map names, with every file they import) is precached in a cache named after
//   VERSION. The web server (and scripts/deploy_web.py) write a hash of the shell's files
//   into VERSION, so every deploy is a new worker: it installs, takes over at once and the
//   page says "a new version is ready" (src/pwa.js); the next load runs the new version.
// - A comic's images and audio come from signed links that change on every read: they are
//   cached under the bucket and object path only (the signing query is dropped), so a link
//   signed yesterday still finds the image offline.
// - GET /jobs/{jobId} and GET /shares/{token} answers are kept (network first) so a comic
//   opened once reopens offline; config.json and the catalogue likewise. The signed-in
//   user's cache is deleted on sign-out (src/pwa.js clearUserData).
// - Notifications are shown by the page through this worker's registration; a click opens
//   or focuses the comic.

const VERSION = '__PANELFLOW_VERSION__';
const SHELL = `panelflow-shell-${VERSION}`;
const RUNTIME = 'panelflow-runtime'; // config.json and the API's catalogue
const DATA = 'panelflow-data'; // comics opened here: API answers, images, audio
const STATIC = [
  './',
  'index.html',
  'styles.css',
  'src/comic.css',
  'manifest.webmanifest',
  'icons/icon-192.png',
  'icons/icon-512.png',
  'icons/icon-maskable-512.png',
  'icons/apple-touch-icon.png',
];
const ENTRIES = ['src/app.js'];
const RELATIVE_IMPORT = /(?:\bfrom|\bimport)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g;
const COMMENTS = /\/\*[\s\S]*?\*\/|^\s*\/\/[^\n]*/gm;
const API_KEPT = /\/(catalogue|jobs\/[A-Za-z0-9_-]{1,64}|shares\/[A-Za-z0-9_-]{1,128})$/;

const scoped = (path) => new URL(path, self.registration.scope).href;

self.addEventListener('install', (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith('panelflow-shell-') && name !== SHELL) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

/** The shell: the static files, then the modules from src/app.js and the import map on,
 * following relative imports (the same walk as scripts/deploy_web.py's module_closure). */
async function precache() {
  const cache = await caches.open(SHELL);
  const fetched = async (url) => {
    const response = await fetch(url, { cache: 'no-cache' });
    if (!response.ok) throw new Error(`precaching ${url}: HTTP ${response.status}`);
    await cache.put(url, response.clone());
    return response;
  };
  const page = await (await fetched(scoped('index.html'))).text();
  await Promise.all(STATIC.filter((path) => path !== 'index.html').map((p) => fetched(scoped(p))));
  await keepConfig();
  const map = page.match(/<script type="importmap">([\s\S]*?)<\/script>/);
  const targets = map ? Object.values(JSON.parse(map[1]).imports || {}) : [];
  const pending = [...ENTRIES, ...targets].map(scoped);
  const seen = new Set();
  while (pending.length) {
    const batch = pending.splice(0).filter((url) => !seen.has(url));
    batch.forEach((url) => seen.add(url));
    const codes = await Promise.all(
      batch.map(async (url) => [url, await (await fetched(url)).text()]),
    );
    for (const [url, code] of codes) {
      for (const match of code.replace(COMMENTS, '').matchAll(RELATIVE_IMPORT)) {
        const next = new URL(match[1], url).href;
        if (!seen.has(next)) pending.push(next);
      }
    }
  }
}

/** config.json and the API's catalogue, which the page needs to start (also offline). */
async function keepConfig() {
  const runtime = await caches.open(RUNTIME);
  try {
    const response = await fetch(scoped('config.json'), { cache: 'no-store' });
    if (!response.ok) return;
    await runtime.put(scoped('config.json'), response.clone());
    const { apiUrl } = await response.json();
    const catalogue = await fetch(`${apiUrl}/catalogue`);
    if (catalogue.ok) await runtime.put(`${apiUrl}/catalogue`, catalogue);
  } catch {
    // The page fetches both on every online load, through this worker, which keeps them.
  }
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (isSignedMedia(url)) {
    event.respondWith(media(request));
  } else if (url.origin === self.location.origin) {
    if (request.mode === 'navigate') event.respondWith(navigation(request));
    else if (url.pathname.endsWith('/config.json'))
      event.respondWith(networkFirst(request, RUNTIME));
    else if (url.pathname !== '/sw.js') event.respondWith(shellFirst(request));
  } else if (API_KEPT.test(url.pathname)) {
    const cache = url.pathname.endsWith('/catalogue') ? RUNTIME : DATA;
    event.respondWith(networkFirst(request, cache, url.href));
  }
});

/** Pages (/, /s/{token}, …) are the one index.html: fresh when online, the cached one off. */
async function navigation(request) {
  try {
    return await fetch(request);
  } catch (error) {
    const cached = await caches.match(scoped('index.html'), { cacheName: SHELL });
    if (cached) return cached;
    throw error;
  }
}

async function shellFirst(request) {
  const cached = await caches.match(request, { cacheName: SHELL, ignoreSearch: true });
  return cached || fetch(request);
}

async function networkFirst(request, cacheName, key = request.url) {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(key, response.clone());
    // Gone (a deleted comic, a revoked link): forget the copy kept for offline reading.
    else if (response.status === 404) await cache.delete(key);
    return response;
  } catch (error) {
    const cached = await cache.match(key);
    if (cached) return cached;
    throw error;
  }
}

// ---- images and audio, by object path ----------------------------------------------------

/** A V4 (X-Goog-Signature) or V2 (Signature + GoogleAccessId) signed Cloud Storage link. */
function isSignedMedia(url) {
  const query = url.searchParams;
  return query.has('X-Goog-Signature') || (query.has('Signature') && query.has('GoogleAccessId'));
}

/** The cache key of a signed link: its origin, bucket and object path, no signature. */
function mediaKey(url) {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

async function media(request) {
  const cache = await caches.open(DATA);
  const key = mediaKey(request.url);
  let response = await cache.match(key);
  if (!response) {
    response = await fetchMedia(request.url);
    if (response.ok || response.type === 'opaque') await cache.put(key, response.clone());
  }
  return ranged(request, response);
}

/** The whole object (no Range: Cache Storage keeps only complete answers), readable (CORS)
 * where the bucket allows this origin, opaque otherwise. */
async function fetchMedia(url) {
  try {
    return await fetch(url, { mode: 'cors', credentials: 'omit' });
  } catch {
    return fetch(url, { mode: 'no-cors', credentials: 'omit' });
  }
}

/** Answers an audio element's Range request from the whole cached object. */
async function ranged(request, response) {
  const range = request.headers.get('Range');
  const match = range && /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  if (!match || response.type === 'opaque' || response.status !== 200) return response;
  const blob = await response.blob();
  const start = match[1] ? Number(match[1]) : Math.max(0, blob.size - Number(match[2]));
  const end = match[1] && match[2] ? Math.min(Number(match[2]), blob.size - 1) : blob.size - 1;
  if (start >= blob.size || start > end) {
    return new Response(null, {
      status: 416,
      headers: { 'Content-Range': `bytes */${blob.size}` },
    });
  }
  const headers = new Headers(response.headers);
  headers.set('Content-Range', `bytes ${start}-${end}/${blob.size}`);
  headers.set('Content-Length', String(end - start + 1));
  return new Response(blob.slice(start, end + 1), { status: 206, headers });
}

self.addEventListener('message', (event) => {
  const message = event.data || {};
  if (message.type === 'keep-media' && Array.isArray(message.urls)) {
    // A finished comic's images and audio, fetched now so that it reads offline later
    // (the page loads images lazily and audio only when played).
    event.waitUntil(
      (async () => {
        const cache = await caches.open(DATA);
        let kept = 0;
        for (const url of message.urls) {
          try {
            if (!(await cache.match(mediaKey(url)))) {
              const response = await fetchMedia(url);
              if (!(response.ok || response.type === 'opaque')) continue;
              await cache.put(mediaKey(url), response);
            }
            kept += 1;
          } catch {
            // offline or refused: the next visit tries again
          }
        }
        event.source?.postMessage({ type: 'media-kept', jobId: message.jobId, kept });
      })(),
    );
  }
});

// ---- notifications -------------------------------------------------------------------------

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const target = new URL(event.notification.data?.url || './', self.registration.scope).href;
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const open = windows.find((client) => new URL(client.url).origin === self.location.origin);
      if (open) {
        await open.focus();
        return open.navigate(target).catch(() => open);
      }
      return self.clients.openWindow(target);
    })(),
  );
});
