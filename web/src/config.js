// The page's configuration: where the API is, the web app's Firebase config, and (locally) the
// emulators. The local stack's web server generates /config.json from its environment; a
// production deployment writes the same file next to index.html (with firebase.appId too,
// and empty emulator entries).
//
// {
//   "apiUrl": "http://127.0.0.1:PORT",               // the orchestrator's HTTP function
//   "firebase": {                                    // the web app's Firebase config
//     "apiKey": "local-emulator-key",                //   any key works with the emulator
//     "authDomain": "127.0.0.1",
//     "projectId": "demo-panelflow"
//   },
//   "authEmulatorUrl": "http://127.0.0.1:PORT",       // empty in production
//   "firestoreEmulatorHost": "127.0.0.1:PORT",        // empty in production
//   "signIn": { "google": false }                    // Google sign-in, where enabled
// }

export async function loadConfig() {
  const response = await fetch('./config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`config.json answered HTTP ${response.status}`);
  const config = await response.json();
  const missing = [
    ...(config.apiUrl ? [] : ['apiUrl']),
    ...['apiKey', 'projectId'].filter((key) => !config.firebase?.[key]).map((k) => `firebase.${k}`),
  ];
  if (missing.length) throw new Error(`config.json lacks ${missing.join(', ')}`);
  return config;
}
