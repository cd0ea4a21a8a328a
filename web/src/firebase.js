// The Firebase app and the Firestore connection. One app serves every user: Auth (auth.js)
// and Firestore share it, so Firestore sends the signed-in user's ID token by itself, locally
// to the emulator as in production.

import { initializeApp } from 'firebase/app';
import {
  clearIndexedDbPersistence,
  connectFirestoreEmulator,
  initializeFirestore,
  persistentLocalCache,
  persistentMultipleTabManager,
  terminate,
} from 'firebase/firestore';

let app = null;
let session = null; // { uid, db }

/** The page's one Firebase app, made from config.firebase on first use. */
export function firebaseApp(config) {
  if (!app) app = initializeApp(config.firebase);
  return app;
}

/** Firestore for this user, made on first use and kept until the user changes. Its cache
 * persists in IndexedDB (shared by the tabs of this browser), so a comic opened once shows
 * again offline after a reload. */
export function openFirestore(config, user) {
  if (session && session.uid === user.uid) return session.db;
  closeFirestore();
  const db = initializeFirestore(firebaseApp(config), {
    localCache: persistentLocalCache({ tabManager: persistentMultipleTabManager() }),
  });
  if (config.firestoreEmulatorHost) {
    const { host, port } = hostPort(config.firestoreEmulatorHost);
    connectFirestoreEmulator(db, host, port);
  }
  session = { uid: user.uid, db };
  return db;
}

/** Drops the connection; call after every listener is unsubscribed. The next openFirestore
 * starts afresh. With forget (signing out), the persisted cache is deleted too, so nothing of
 * one user's data outlives the session on this device. */
export function closeFirestore({ forget = false } = {}) {
  if (!session) return;
  const { db } = session;
  session = null;
  terminate(db)
    .then(() => forget && clearIndexedDbPersistence(db))
    .catch((error) => console.warn('closing Firestore', error));
}

function hostPort(value) {
  const index = value.lastIndexOf(':');
  const host = value.slice(0, index).replace(/^\[|\]$/g, ''); // [::1]:8080 → ::1
  return { host, port: Number(value.slice(index + 1)) };
}
