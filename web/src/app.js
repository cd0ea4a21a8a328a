// The app shell: configuration, sign-in state and the routes.
//   #/              new comic + my comics
//   #/jobs/<jobId>  one comic, live (a reload or a shared link reopens it)
//   #/account       a guest keeps their comics by adding an email (or Google)
//   /s/<token>      a comic someone shared: read-only, no sign-in

import { currentUser, initAuth, onUserChanged, signInOptions, signOut } from './auth.js';
import { getCatalogue } from './api.js';
import { loadConfig } from './config.js';
import { h, useCatalogue } from './dom.js';
import { closeFirestore, openFirestore } from './firebase.js';
import { watchJobEnds } from './notify.js';
import { clearUserData, startPwa } from './pwa.js';
import { mountShared } from './share.js';
import { mountAccount } from './views/account.js';
import { mountHome } from './views/home.js';
import { mountJob } from './views/job.js';
import { mountSignIn } from './views/signin.js';

const JOB_ROUTE = /^#\/jobs\/([A-Za-z0-9_-]{1,64})$/;
const SHARE_ROUTE = /^\/s\/([^/]+)$/;
const main = document.getElementById('main');
const account = document.getElementById('account');
let config = null;
let unmount = () => {};
let shownUid = null; // whose page is on screen
let stopWatching = () => {}; // notifications of the shown user's comics
const GUEST_SIGN_OUT =
  'Sign out of this guest session? Its comics cannot be opened again unless you first add ' +
  'an email (Keep my comics).';

function route() {
  // ?job=<id> links land on the same view.
  const legacy = new URLSearchParams(window.location.search).get('job');
  if (legacy && !window.location.hash) {
    history.replaceState(null, '', `${window.location.pathname}#/jobs/${legacy}`);
  }
  if (window.location.hash === '#/account') return { name: 'account' };
  const match = window.location.hash.match(JOB_ROUTE);
  return match ? { name: 'job', jobId: match[1] } : { name: 'home' };
}

function render() {
  unmount();
  unmount = () => {};
  main.replaceChildren();
  document.title = 'Panelflow';
  const user = currentUser();
  shownUid = user && user.uid;
  renderAccount(user);
  stopWatching();
  stopWatching = () => {};
  if (!user) {
    closeFirestore({ forget: true }); // after unmount(): no listener is left on it
    clearUserData();
    unmount = mountSignIn(main);
    return;
  }
  const db = openFirestore(config, user);
  stopWatching = watchJobEnds(db, user);
  const current = route();
  if (current.name === 'job') unmount = mountJob(main, { config, db, user, jobId: current.jobId });
  else if (current.name === 'account') unmount = mountAccount(main, { config, user });
  else unmount = mountHome(main, { config, db, user });
}

function userChanged(user) {
  if (user && user.uid === shownUid) {
    renderAccount(user); // the same account, e.g. a guest who added an email: keep the page
    return;
  }
  if (!user && shownUid) {
    // Signed out: the next person to sign in here starts from the home page.
    history.replaceState(null, '', window.location.pathname);
  }
  render();
}

function renderAccount(user) {
  if (!user) {
    account.replaceChildren();
    return;
  }
  const local = signInOptions().emulator
    ? h('span', { class: 'badge badge--dev', title: 'Signed in to the Auth emulator' }, 'local')
    : null;
  const keep = user.isAnonymous
    ? h(
        'a',
        { id: 'link-account', href: '#/account', class: 'button button--small' },
        'Keep my comics',
      )
    : h(
        'a',
        { id: 'account-link', href: '#/account', class: 'button button--ghost button--small' },
        'Account',
      );
  const leave = h(
    'button',
    { type: 'button', id: 'sign-out', class: 'button button--ghost button--small' },
    'Sign out',
  );
  leave.addEventListener('click', () => {
    // A guest who signs out can never sign in to that guest again: say so first.
    if (user.isAnonymous && !window.confirm(GUEST_SIGN_OUT)) return;
    leave.disabled = true;
    signOut().catch((error) => {
      leave.disabled = false;
      console.warn('signing out', error);
    });
  });
  account.replaceChildren(
    ...[
      h(
        'span',
        { class: 'who', dataset: { uid: user.uid, guest: String(user.isAnonymous) } },
        local,
        h('span', { class: 'who-name', title: user.displayName }, user.displayName),
      ),
      keep,
      leave,
    ].filter(Boolean),
  );
}

async function boot() {
  try {
    config = await loadConfig();
    config.catalogue = await getCatalogue(config.apiUrl);
    useCatalogue(config.catalogue);
    initAuth(config);
  } catch (error) {
    main.replaceChildren(
      h(
        'section',
        { class: 'card notice', role: 'alert' },
        h('h1', {}, 'Panelflow could not start'),
        h('p', {}, error.message),
      ),
    );
    return;
  }
  const shared = window.location.pathname.match(SHARE_ROUTE);
  if (shared) {
    // A shared comic needs nobody signed in; any other link leaves this view for the app.
    main.replaceChildren();
    mountShared(main, { config, token: decodeURIComponent(shared[1]) });
    return;
  }
  window.addEventListener('hashchange', render);
  onUserChanged(userChanged);
}

startPwa();
boot();
