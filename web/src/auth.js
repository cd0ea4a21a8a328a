// Identity for the web client: Firebase Auth through its JS SDK, the same build locally (the
// Auth emulator) and in production. This is the ONE module that knows how a user signs in;
// the rest of the app uses only its exports:
//
//   initAuth(config)               once, before anything else
//   onUserChanged(callback)        callback(user | null) once Auth knows, then on every change
//   currentUser()                  { uid, displayName, email, isAnonymous } | null
//   getIdToken()                   a fresh ID token for the HTTP API (the SDK renews it)
//   signInOptions()                { google, emulator }: what this deployment offers
//   signInWithEmail, signUpWithEmail, sendPasswordReset, continueAsGuest, signInWithGoogle
//   linkEmail, linkGoogle          turn a guest into an account; the uid (and the comics) stay
//   signOut()
//   SignInError                    what the actions throw: { field, code, message }
//
// Firestore runs on the same Firebase app (firebase.js), so it sends the signed-in user's
// token by itself. The session survives reloads (IndexedDB, as the SDK does by default).

import {
  browserLocalPersistence,
  browserPopupRedirectResolver,
  connectAuthEmulator,
  createUserWithEmailAndPassword,
  EmailAuthProvider,
  GoogleAuthProvider,
  indexedDBLocalPersistence,
  initializeAuth,
  linkWithCredential,
  linkWithPopup,
  onIdTokenChanged,
  sendPasswordResetEmail,
  signInAnonymously,
  signInWithEmailAndPassword,
  signInWithPopup,
  signOut as firebaseSignOut,
} from 'firebase/auth';

import { firebaseApp } from './firebase.js';

/** A sign-in that did not happen. field: 'email', 'password' or 'form' (the whole form). */
export class SignInError extends Error {
  constructor(field, message, code = '') {
    super(message);
    this.field = field;
    this.code = code;
  }
}

// Firebase Auth's error codes → where to show the problem and what a person should read.
// Projects with email enumeration protection (the default for new ones) answer
// auth/invalid-credential for both an unknown email and a wrong password.
const ERRORS = {
  'auth/invalid-email': ['email', 'That is not a valid email address.'],
  'auth/missing-email': ['email', 'Enter your email address.'],
  'auth/user-not-found': ['email', 'No account uses this email. Check it, or create an account.'],
  'auth/user-disabled': ['email', 'This account has been disabled.'],
  'auth/email-already-in-use': ['email', 'An account already uses this email. Sign in instead.'],
  'auth/wrong-password': ['password', 'Wrong password. Try again, or reset it.'],
  'auth/invalid-credential': ['password', 'Wrong email or password.'],
  'auth/invalid-login-credentials': ['password', 'Wrong email or password.'],
  'auth/missing-password': ['password', 'Enter your password.'],
  'auth/weak-password': ['password', 'That password is too weak: use at least 6 characters.'],
  'auth/too-many-requests': [
    'form',
    'Too many attempts from this device. Wait a few minutes, or reset your password.',
  ],
  'auth/network-request-failed': [
    'form',
    'Sign-in could not reach the server. Check your connection and try again.',
  ],
  'auth/credential-already-in-use': [
    'form',
    'That Google account already has its own Panelflow account. Sign out and sign in with it ' +
      '(the comics made as a guest stay with the guest).',
  ],
  'auth/popup-blocked': [
    'form',
    'The browser blocked the Google sign-in window. Allow pop-ups for this site and try again.',
  ],
  'auth/popup-closed-by-user': ['form', 'The Google sign-in window closed before signing in.'],
  'auth/operation-not-allowed': ['form', 'This way of signing in is not enabled for this site.'],
  'auth/admin-restricted-operation': [
    'form',
    'This way of signing in is not enabled for this site.',
  ],
  'auth/provider-already-linked': ['form', 'This account already has that sign-in.'],
  'auth/requires-recent-login': ['form', 'Sign out and in again, then try this again.'],
};

// A guest adding a sign-in must not be told to sign in elsewhere: that would leave the guest's
// comics behind.
const LINK_ERRORS = {
  'auth/email-already-in-use': [
    'email',
    'Another account already uses this email: choose a different one to keep these comics.',
  ],
};

const listeners = new Set();
let auth = null;
let options = { google: false, emulator: false };
let user = null;
let known = false; // false until Auth has read the persisted session

export function initAuth(config) {
  options = { google: config.signIn?.google === true, emulator: Boolean(config.authEmulatorUrl) };
  // No popup resolver up front: Google sign-in brings its own, so a page without it loads no
  // sign-in iframe.
  auth = initializeAuth(firebaseApp(config), {
    persistence: [indexedDBLocalPersistence, browserLocalPersistence],
  });
  if (config.authEmulatorUrl) {
    // The app shows its own "local" badge instead of the SDK's banner.
    connectAuthEmulator(auth, config.authEmulatorUrl, { disableWarnings: true });
  }
  // Fires on sign-in, sign-out, token renewal and linking; publish() keeps only real changes.
  onIdTokenChanged(auth, publish);
}

export function signInOptions() {
  return options;
}

export function currentUser() {
  return user;
}

export function onUserChanged(callback) {
  listeners.add(callback);
  if (known) callback(user);
  return () => listeners.delete(callback);
}

/** The bearer token for the API: the SDK hands back a cached one or renews it first. */
export async function getIdToken() {
  if (!auth?.currentUser) throw new Error('not signed in');
  return auth.currentUser.getIdToken();
}

export async function signInWithEmail(email, password) {
  const fields = required(email, password);
  await attempt(() => signInWithEmailAndPassword(auth, fields.email, fields.password));
}

export async function signUpWithEmail(email, password) {
  const fields = required(email, password);
  await attempt(() => createUserWithEmailAndPassword(auth, fields.email, fields.password));
}

/** Asks Firebase Auth to email a reset link. */
export async function sendPasswordReset(email) {
  const address = String(email || '').trim();
  if (!address) throw new SignInError('email', 'Enter the email address of your account.');
  await attempt(() => sendPasswordResetEmail(auth, address));
}

export async function continueAsGuest() {
  await attempt(() => signInAnonymously(auth));
}

export async function signInWithGoogle() {
  await attempt(() =>
    signInWithPopup(auth, new GoogleAuthProvider(), browserPopupRedirectResolver),
  );
}

/** Gives the guest an email and password; the uid stays, so every comic stays theirs. */
export async function linkEmail(email, password) {
  const fields = required(email, password);
  const guest = signedInGuest();
  const credential = EmailAuthProvider.credential(fields.email, fields.password);
  await attempt(() => linkWithCredential(guest, credential), LINK_ERRORS);
  publish(auth.currentUser); // same uid, new email: the account bar changes
}

export async function linkGoogle() {
  const guest = signedInGuest();
  await attempt(
    () => linkWithPopup(guest, new GoogleAuthProvider(), browserPopupRedirectResolver),
    LINK_ERRORS,
  );
  publish(auth.currentUser);
}

export async function signOut() {
  await firebaseSignOut(auth);
}

// ---- internals ---------------------------------------------------------------------------

function required(email, password) {
  const fields = { email: String(email || '').trim(), password: String(password || '') };
  if (!fields.email) throw new SignInError('email', 'Enter your email address.');
  if (!fields.password) throw new SignInError('password', 'Enter your password.');
  return fields;
}

function signedInGuest() {
  const current = auth?.currentUser;
  if (!current || !current.isAnonymous) {
    throw new SignInError('form', 'Only a guest session can be turned into an account.');
  }
  return current;
}

async function attempt(action, messages = {}) {
  try {
    return await action();
  } catch (error) {
    throw readable(error, messages);
  }
}

function readable(error, messages) {
  const code = error?.code || '';
  const entry = messages[code] || ERRORS[code];
  if (entry) return new SignInError(entry[0], entry[1], code);
  return new SignInError('form', `Sign-in failed (${code || error?.message || 'unknown'}).`, code);
}

function publish(firebaseUser) {
  const next = firebaseUser ? snapshot(firebaseUser) : null;
  if (known && same(next, user)) return;
  known = true;
  user = next;
  for (const callback of listeners) callback(user);
}

function snapshot(firebaseUser) {
  const email = firebaseUser.email || '';
  return Object.freeze({
    uid: firebaseUser.uid,
    email,
    isAnonymous: firebaseUser.isAnonymous,
    displayName: firebaseUser.displayName || email || 'Guest',
  });
}

function same(a, b) {
  if (!a || !b) return a === b;
  return (
    a.uid === b.uid &&
    a.email === b.email &&
    a.isAnonymous === b.isAnonymous &&
    a.displayName === b.displayName
  );
}
