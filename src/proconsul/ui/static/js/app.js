// Boot: settings controls, the router, and mounting one view at a time (its loops stop with it).

import { request, settings, sleep } from './api.js';
import { h } from './dom.js';
import { clearMessage, showMessage } from './notify.js';
import { DEFAULT_ROUTE, parse } from './router.js';
import { kvView } from './views/kv.js';
import { nodeView, nodesView } from './views/nodes.js';
import { serviceView, servicesView } from './views/services.js';

const VIEWS = {
  services: servicesView,
  service: serviceView,
  nodes: nodesView,
  node: nodeView,
  kv: kvView,
};

const main = document.getElementById('main');
let current = null; // {route, controller, view}

function highlightNav(section) {
  for (const link of document.querySelectorAll('a[data-nav]')) {
    if (link.dataset.nav === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

/** Show the route in the URL; `force` remounts even the same view (datacenter or token changed). */
function render(force = false) {
  const route = parse(location.hash);
  if (!route) {
    location.replace(DEFAULT_ROUTE);
    return;
  }
  highlightNav(route.section);
  if (!force && current && current.route.view === route.view && current.view.update && current.view.update(route)) {
    current.route = route;
    return;
  }
  const sameSection = current && current.route.section === route.section;
  if (current) current.controller.abort();
  if (!sameSection && !force) clearMessage();
  const controller = new AbortController();
  main.replaceChildren();
  const view = VIEWS[route.view](main, route, { signal: controller.signal }) || {};
  const navigated = current !== null;
  current = { route, controller, view };
  // after a navigation, focus follows the new content; on first load, Tab starts at the skip link
  if (!force && navigated) {
    window.scrollTo(0, 0);
    if (!main.contains(document.activeElement)) main.focus({ preventScroll: true });
  }
}

function setupSkipLink() {
  document.getElementById('skip-link').addEventListener('click', () => {
    const target = main.querySelector('h1') || main;
    if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
    target.focus();
  });
}

function setupToken() {
  const input = document.getElementById('token');
  input.value = settings.token;
  document.getElementById('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = input.value.trim();
    settings.setToken(token);
    showMessage('info', token ? 'ACL token saved in this browser.' : 'ACL token cleared: requests are anonymous.');
    render(true);
  });
}

function fillDatacenters(select, names) {
  const list = names.includes(settings.dc) || !settings.dc ? names : [settings.dc, ...names];
  select.replaceChildren(...list.map((dc) => h('option', { value: dc }, dc)));
  if (!settings.dc && names.length) settings.dc = names[0];
  select.value = settings.dc;
}

async function setupDatacenters() {
  const select = document.getElementById('dc');
  select.addEventListener('change', () => {
    settings.setDc(select.value);
    render(true);
  });
  if (settings.dc) fillDatacenters(select, [settings.dc]);
  // The list can wait for the agent; views do not wait for the list.
  for (let delay = 1000; ; delay = Math.min(delay * 2, 30000)) {
    try {
      const { data } = await request('/v1/catalog/datacenters', { anyDc: true });
      const names = Array.isArray(data) ? data : [];
      const remembered = settings.dc;
      if (remembered && !names.includes(remembered) && names.length) {
        // A datacenter stored from another agent: fall back to this agent's own.
        settings.setDc(names[0]);
        fillDatacenters(select, names);
        render(true);
      } else {
        fillDatacenters(select, names);
      }
      return;
    } catch {
      await sleep(delay);
    }
  }
}

setupSkipLink();
setupToken();
window.addEventListener('hashchange', () => render());
render();
setupDatacenters();
