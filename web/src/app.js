// The app shell: configuration, sign-in state and the two routes.
//   #/              new comic + my comics
//   #/jobs/<jobId>  one comic, live (a reload or a shared link reopens it)

import { currentUser, DEV_SIGN_IN, initAuth, onUserChanged, signOut } from './auth.js';
import { loadConfig } from './config.js';
import { h } from './dom.js';
import { closeFirestore, openFirestore } from './firebase.js';
import { mountHome } from './views/home.js';
import { mountJob } from './views/job.js';
import { mountSignIn } from './views/signin.js';

const JOB_ROUTE = /^#\/jobs\/([A-Za-z0-9_-]{1,64})$/;
const main = document.getElementById('main');
const account = document.getElementById('account');
let config = null;
let unmount = () => {};

function route() {
  // ?job=<id> links land on the same view.
  const legacy = new URLSearchParams(window.location.search).get('job');
  if (legacy && !window.location.hash) {
    history.replaceState(null, '', `${window.location.pathname}#/jobs/${legacy}`);
  }
  const match = window.location.hash.match(JOB_ROUTE);
  return match ? { name: 'job', jobId: match[1] } : { name: 'home' };
}

function render() {
  unmount();
  unmount = () => {};
  main.replaceChildren();
  document.title = 'Panelflow';
  const user = currentUser();
  renderAccount(user);
  if (!user) {
    closeFirestore();
    unmount = mountSignIn(main);
    return;
  }
  const db = openFirestore(config, user);
  const current = route();
  unmount =
    current.name === 'job'
      ? mountJob(main, { config, db, user, jobId: current.jobId })
      : mountHome(main, { config, db, user });
}

function renderAccount(user) {
  if (!user) {
    account.replaceChildren();
    return;
  }
  account.replaceChildren(
    h(
      'span',
      { class: 'who', dataset: { uid: user.uid } },
      DEV_SIGN_IN
        ? h('span', { class: 'badge badge--dev', title: 'Local dev sign-in' }, 'dev')
        : null,
      h('span', { class: 'who-name' }, user.displayName),
    ),
    h(
      'button',
      { type: 'button', class: 'button button--ghost button--small', onclick: signOut },
      'Sign out',
    ),
  );
}

async function boot() {
  try {
    config = await loadConfig();
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
  window.addEventListener('hashchange', render);
  onUserChanged(render);
}

boot();
