// The Firestore connection. Locally each signed-in user gets an app of their own, because the
// emulator's mock user token is fixed when the connection is made (see auth.js); with real
// Firebase Auth one app serves every user and Firestore follows the signed-in user.

import { deleteApp, initializeApp } from 'firebase/app';
import { connectFirestoreEmulator, getFirestore } from 'firebase/firestore';

import { firestoreOptions } from './auth.js';

let session = null; // { uid, app, db }
let generation = 0;

/** Firestore for this user, made on first use and kept until the user changes. */
export function openFirestore(config, user) {
  if (session && session.uid === user.uid) return session.db;
  closeFirestore();
  generation += 1;
  const app = initializeApp(config.firebase, `panelflow-${generation}`);
  const db = getFirestore(app);
  if (config.firestoreEmulatorHost) {
    const { host, port } = hostPort(config.firestoreEmulatorHost);
    connectFirestoreEmulator(db, host, port, firestoreOptions(user));
  }
  session = { uid: user.uid, app, db };
  return db;
}

/** Drops the current connection; call after every listener is unsubscribed. */
export function closeFirestore() {
  if (!session) return;
  const { app } = session;
  session = null;
  deleteApp(app).catch((error) => console.warn('closing Firestore', error));
}

function hostPort(value) {
  const index = value.lastIndexOf(':');
  const host = value.slice(0, index).replace(/^\[|\]$/g, ''); // [::1]:8080 → ::1
  return { host, port: Number(value.slice(index + 1)) };
}
