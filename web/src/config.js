// The page's configuration: where the API is, the Firebase project, and (locally) the
// Firestore emulator. The local stack's web server generates /config.json from its
// environment; a production deployment writes the same file next to index.html.
//
// {
//   "apiUrl": "http://127.0.0.1:PORT",            // the orchestrator's HTTP function
//   "auth": "dev" | "firebase",                   // see auth.js
//   "firebase": { "projectId": "demo-panelflow" }, // the web app's Firebase config
//   "firestoreEmulatorHost": "127.0.0.1:PORT"      // empty in production
// }

export async function loadConfig() {
  const response = await fetch('./config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`config.json answered HTTP ${response.status}`);
  const config = await response.json();
  if (!config.apiUrl || !config.firebase?.projectId) {
    throw new Error('config.json needs apiUrl and firebase.projectId');
  }
  return config;
}
