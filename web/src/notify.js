// System notifications when a comic ends while the page is in the background (hidden, or
// its window not focused). Permission is
// asked only once the user has started a comic (never on load). The notification carries
// the comic's title and a link to it, never its story.

import { collection, limit, onSnapshot, orderBy, query, where } from 'firebase/firestore';

import { TERMINAL } from './dom.js';

const BODIES = {
  completed: 'Your comic is ready',
  partial: 'Your comic is ready (some panels could not be drawn)',
  failed: 'Your comic could not be finished',
};

/** After the user's first start: ask, if the browser has not been told yet. */
export function askNotificationPermission() {
  if (!('Notification' in window) || Notification.permission !== 'default') return;
  Notification.requestPermission().catch(() => {});
}

/** Watches the user's recent comics; one that ends while the page is hidden is notified
 * through the service worker. Returns the function that stops watching. */
export function watchJobEnds(db, user) {
  if (!('Notification' in window) || !('serviceWorker' in navigator)) return () => {};
  const seen = new Map(); // jobId -> status last seen
  const mine = query(
    collection(db, 'jobs'),
    where('ownerUid', '==', user.uid),
    orderBy('createdAt', 'desc'),
    limit(20),
  );
  return onSnapshot(
    mine,
    (snapshot) => {
      for (const change of snapshot.docChanges()) {
        const id = change.doc.id;
        const job = change.doc.data();
        const before = seen.get(id);
        seen.set(id, job.status);
        const ended = before !== undefined && !TERMINAL.has(before) && TERMINAL.has(job.status);
        if (ended && BODIES[job.status] && inBackground()) {
          notify(id, job).catch((error) => console.warn('notification', error));
        }
      }
    },
    (error) => console.warn('watching my comics', error),
  );
}

/** Hidden (another app or tab in front, a locked phone) or a window without focus. */
function inBackground() {
  return document.visibilityState === 'hidden' || !document.hasFocus();
}

async function notify(jobId, job) {
  if (Notification.permission !== 'granted') return;
  const registration = await navigator.serviceWorker.ready;
  await registration.showNotification(job.title || 'Your comic', {
    body: BODIES[job.status],
    tag: `job-${jobId}`,
    icon: './icons/icon-192.png',
    data: { url: new URL(`#/jobs/${jobId}`, document.baseURI).href, jobId, shownAt: Date.now() },
  });
}
