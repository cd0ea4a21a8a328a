// Identity for the web client. This is the ONE module that knows how a user signs in; the
// rest of the app uses only its exports:
//
//   initAuth(config)             once, before anything else
//   onUserChanged(callback)      callback(user | null) now and on every change
//   currentUser()                { uid, displayName } | null
//   getIdToken()                 the bearer token for the HTTP API
//   firestoreOptions(user)       options for connectFirestoreEmulator (firebase.js)
//   signInAs(uid), signOut()     the local dev sign-in form's actions
//   DEV_SIGN_IN                  true while the local dev sign-in is in use
//
// LOCAL ONLY — "dev" mode: the local stack has no Auth emulator. The user types any user id,
// kept in localStorage; getIdToken() mints an unsigned token in the Firebase Auth emulator's
// format ({"alg":"none"}, sub/user_id claims). The local API (PANELFLOW_AUTH=dev) accepts it,
// and the Firestore emulator enforces the security rules for the same uid through
// connectFirestoreEmulator(..., { mockUserToken }). Production refuses such tokens.
//
// PRODUCTION — replace the bodies below with Firebase Auth on the same app as Firestore:
//   const auth = getAuth(app);  onAuthStateChanged(auth, user => ...);
//   signInWithPopup(auth, new GoogleAuthProvider());
//   getIdToken() => auth.currentUser.getIdToken();
//   firestoreOptions() => ({}): Firestore sends the signed-in user's token by itself.

const STORAGE_KEY = 'panelflow.devSignIn.uid';
const LAST_KEY = 'panelflow.devSignIn.lastUid';
// The user ids the API accepts (functions/panelflow/adapters/auth.py).
export const UID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_\-.:@]{0,127}$/;

const listeners = new Set();
let user = null;
let projectId = '';

export let DEV_SIGN_IN = true;

export function initAuth(config) {
  projectId = config.firebase.projectId;
  DEV_SIGN_IN = (config.auth || 'dev') === 'dev';
  if (!DEV_SIGN_IN) {
    throw new Error('Firebase Auth sign-in is not wired into this build yet; see web/README.md');
  }
  const stored = readStorage(STORAGE_KEY);
  user = stored && UID_PATTERN.test(stored) ? makeUser(stored) : null;
  // Another tab signing in or out changes this one too.
  window.addEventListener('storage', (event) => {
    if (event.key !== STORAGE_KEY) return;
    const uid = event.newValue;
    setUser(uid && UID_PATTERN.test(uid) ? makeUser(uid) : null);
  });
}

export function currentUser() {
  return user;
}

export function onUserChanged(callback) {
  listeners.add(callback);
  callback(user);
  return () => listeners.delete(callback);
}

/** The last user id signed in on this browser, to prefill the dev sign-in form. */
export function lastUid() {
  return readStorage(LAST_KEY) || '';
}

export function signInAs(uid) {
  const value = String(uid || '').trim();
  if (!UID_PATTERN.test(value)) {
    throw new Error('Use 1–128 letters, digits or _ - . : @, starting with a letter or digit');
  }
  writeStorage(STORAGE_KEY, value);
  writeStorage(LAST_KEY, value);
  setUser(makeUser(value));
}

export function signOut() {
  removeStorage(STORAGE_KEY);
  setUser(null);
}

export async function getIdToken() {
  if (!user) throw new Error('not signed in');
  return unsignedToken(user.uid);
}

/** Options for connectFirestoreEmulator: the emulator applies the rules to this uid. */
export function firestoreOptions(forUser) {
  return DEV_SIGN_IN ? { mockUserToken: { user_id: forUser.uid, sub: forUser.uid } } : {};
}

// ---- dev-mode internals ----------------------------------------------------------------

function makeUser(uid) {
  return Object.freeze({ uid, displayName: uid });
}

function setUser(next) {
  if ((next && next.uid) === (user && user.uid)) return;
  user = next;
  for (const callback of listeners) callback(user);
}

function unsignedToken(uid) {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    sub: uid,
    user_id: uid,
    aud: projectId,
    iss: `panelflow-local/${projectId}`,
    iat: now,
    exp: now + 3600,
  };
  return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`;
}

function base64url(data) {
  const bytes = new TextEncoder().encode(JSON.stringify(data));
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function readStorage(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function writeStorage(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Private mode: the sign-in lasts until the page closes.
  }
}

function removeStorage(key) {
  try {
    localStorage.removeItem(key);
  } catch {
    // Nothing stored.
  }
}
