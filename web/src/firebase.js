// The Firebase app and the Firestore connection. One app serves every user: Auth (auth.js)
// and Firestore share it, so Firestore sends the signed-in user's ID token by itself, locally
// to the emulator as in production.

import { initializeApp } from 'firebase/app';
import { connectFirestoreEmulator, getFirestore, terminate } from 'firebase/firestore';

let app = null;
let session = null; // { uid, db }

/** The page's one Firebase app, made from config.firebase on first use. */
export function firebaseApp(config) {
  if (!app) app = initializeApp(config.firebase);
  return app;
}

/** Firestore for this user, made on first use and kept until the user changes. */
export function openFirestore(config, user) {
  if (session && session.uid === user.uid) return session.db;
  closeFirestore();
  const db = getFirestore(firebaseApp(config));
  if (config.firestoreEmulatorHost) {
    const { host, port } = hostPort(config.firestoreEmulatorHost);
    connectFirestoreEmulator(db, host, port);
  }
  session = { uid: user.uid, db };
  return db;
}

/** Drops the connection and its in-memory cache, so nothing of one user's data outlives the
 * session; call after every listener is unsubscribed. The next openFirestore starts afresh. */
export function closeFirestore() {
  if (!session) return;
  const { db } = session;
  session = null;
  terminate(db).catch((error) => console.warn('closing Firestore', error));
}

function hostPort(value) {
  const index = value.lastIndexOf(':');
  const host = value.slice(0, index).replace(/^\[|\]$/g, ''); // [::1]:8080 → ::1
  return { host, port: Number(value.slice(index + 1)) };
}
