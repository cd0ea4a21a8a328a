// The installable app: the service worker (../sw.js), the "offline" banner and the "new
// version" notice. The worker precaches the app shell per version and keeps the images and
// audio of the comics opened here by object path, so a comic read once reads offline.

import { h } from './dom.js';

// The caches the worker keeps for the signed-in user (comics, their images and audio).
const USER_DATA_CACHE = 'panelflow-data';

/** Registers the worker; shows the offline banner and, when a new version takes over, a
 * notice with a reload button. Never throws: the page works without a worker. */
export function startPwa() {
  const banner = document.getElementById('offline-banner');
  const showOnline = () => {
    banner.hidden = navigator.onLine;
    document.documentElement.dataset.online = String(navigator.onLine);
  };
  window.addEventListener('online', showOnline);
  window.addEventListener('offline', showOnline);
  showOnline();

  if (!('serviceWorker' in navigator)) return;
  // A page already run by a worker that sees another take over runs an old version.
  let controlled = Boolean(navigator.serviceWorker.controller);
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (controlled) showUpdateNotice();
    controlled = true;
  });
  navigator.serviceWorker.addEventListener('message', (event) => {
    if (event.data?.type === 'media-kept') {
      document.dispatchEvent(new CustomEvent('panelflow:media-kept', { detail: event.data }));
    }
  });
  navigator.serviceWorker
    .register('./sw.js', { scope: './' })
    .then(() => navigator.serviceWorker.ready)
    .then(() => {
      document.documentElement.dataset.sw = 'ready';
    })
    .catch((error) => console.warn('service worker', error));
}

function showUpdateNotice() {
  const notice = document.getElementById('update-notice');
  if (!notice.hidden) return;
  const reload = h(
    'button',
    { type: 'button', id: 'update-reload', class: 'button button--small' },
    'Reload',
  );
  reload.addEventListener('click', () => window.location.reload());
  notice.replaceChildren(
    h('span', {}, 'A new version of Panelflow is ready: reload to use it.'),
    reload,
  );
  notice.hidden = false;
}

/** Asks the worker to fetch and keep a comic's images and audio (the page itself loads
 * images lazily and audio only when played), so the whole comic reads offline later. */
export function keepForOffline(jobId, urls) {
  if (!urls.length || !('serviceWorker' in navigator)) return;
  navigator.serviceWorker.ready
    .then((registration) => registration.active?.postMessage({ type: 'keep-media', jobId, urls }))
    .catch(() => {});
}

/** Deletes what the worker kept of the signed-in user's comics (on sign-out). */
export async function clearUserData() {
  if (!('caches' in window)) return;
  await caches.delete(USER_DATA_CACHE).catch(() => false);
}
