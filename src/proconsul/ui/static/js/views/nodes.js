// Nodes: the list with each node's health, and one node with its service instances, checks and
// the sessions it holds (with the KV locks each session holds).

import { watch } from '../api.js';
import { h, hostPort, plural, replaceKeepingFocus, setTitle } from '../dom.js';
import { aggregate, badge, counts, countChecks } from '../health.js';
import { showError } from '../notify.js';
import { links } from '../router.js';
import { checkItem } from './services.js';

function nodeRow(n) {
  const checks = n.Checks || [];
  const state = aggregate(checks.map((c) => c.Status));
  const names = [...new Set((n.Services || []).map((s) => s.Service))].sort();
  return h(
    'tr',
    { 'data-node': n.Node, 'data-state': state },
    h('td', { class: 'name', 'data-label': 'Node' }, h('a', { href: links.node(n.Node) }, n.Node)),
    h('td', { 'data-label': 'Health' }, badge(state)),
    h('td', { 'data-label': 'Address' }, h('span', { class: 'address mono' }, n.Address)),
    h('td', { 'data-label': 'Checks' }, counts(countChecks(checks))),
    h(
      'td',
      { 'data-label': 'Services' },
      h('span', { class: 'tags' }, names.map((s) => h('a', { class: 'tag', href: links.service(s) }, s))),
      names.length ? null : h('span', { class: 'muted' }, 'none'),
    ),
  );
}

function messageRow(text) {
  return h('tr', {}, h('td', { class: 'empty-cell', colspan: 5 }, text));
}

export function nodesView(root, _route, { signal }) {
  setTitle('Nodes');
  const subtitle = h('p', { class: 'subtitle' }, 'Loading…');
  const tbody = h('tbody', {}, messageRow('Loading nodes…'));
  root.append(
    h(
      'section',
      { class: 'page', 'aria-labelledby': 'page-title' },
      h('div', { class: 'page-head' }, h('div', {}, h('h1', { id: 'page-title' }, 'Nodes'), subtitle)),
      h(
        'table',
        { class: 'table', 'data-testid': 'nodes' },
        h('caption', { class: 'visually-hidden' }, 'Nodes and their health'),
        h('thead', {}, h('tr', {}, ['Node', 'Health', 'Address', 'Checks', 'Services'].map((c) => h('th', { scope: 'col' }, c)))),
        tbody,
      ),
    ),
  );
  let loaded = false;
  watch(
    '/v1/internal/ui/nodes',
    {},
    (data) => {
      loaded = true;
      const nodes = Array.isArray(data) ? data : [];
      const states = nodes.map((n) => aggregate((n.Checks || []).map((c) => c.Status)));
      const count = (s) => states.filter((x) => x === s).length;
      subtitle.textContent = `${plural(nodes.length, 'node')} · ${count('passing')} passing · ${count('warning')} warning · ${count('critical')} critical`;
      replaceKeepingFocus(tbody, nodes.length ? nodes.map(nodeRow) : [messageRow('No nodes are registered.')], 'data-node');
    },
    {
      signal,
      onError(err) {
        if (!err) return;
        showError(err);
        if (!loaded) tbody.replaceChildren(messageRow(`Could not load nodes: ${err.message}`));
      },
    },
  );
  return {};
}

// ---- one node ----------------------------------------------------------------------------------
function pairs(map) {
  const entries = Object.entries(map || {});
  if (!entries.length) return h('span', { class: 'muted' }, '—');
  return h(
    'ul',
    { class: 'meta-list' },
    entries.map(([k, v]) => h('li', { class: 'meta' }, h('span', { class: 'meta-key' }, `${k}: `), h('span', { class: 'meta-value' }, v))),
  );
}

function instanceRow(svc, checks, nodeAddress) {
  const own = checks.filter((c) => c.ServiceID === svc.ID);
  const nodeChecks = checks.filter((c) => !c.ServiceID);
  const state = aggregate([...own, ...nodeChecks].map((c) => c.Status));
  return h(
    'tr',
    { 'data-service-instance': svc.ID, 'data-state': state },
    h('td', { class: 'name', 'data-label': 'Service' }, h('a', { href: links.service(svc.Service) }, svc.Service)),
    h('td', { 'data-label': 'ID' }, h('span', { class: 'mono' }, svc.ID)),
    h('td', { 'data-label': 'Health' }, badge(state)),
    h('td', { 'data-label': 'Address' }, h('span', { class: 'address mono' }, hostPort(svc.Address || nodeAddress, svc.Port) || '—')),
    h(
      'td',
      { 'data-label': 'Tags' },
      h('span', { class: 'tags' }, (svc.Tags || []).map((t) => h('span', { class: 'tag' }, t))),
    ),
  );
}

function seconds(ns) {
  if (!ns) return '0s';
  return `${Math.round(ns / 1e9)}s`;
}

function sessionCard(s, locks) {
  const held = locks.get(s.ID) || [];
  const checks = [...(s.NodeChecks || []), ...(s.ServiceChecks || []).map((c) => c.ID)];
  return h(
    'article',
    { class: 'card session', 'data-session': s.ID },
    h('h3', {}, s.Name ? `${s.Name} ` : '', h('span', { class: 'muted' }, s.ID)),
    h(
      'dl',
      { class: 'kv-pairs' },
      h('dt', {}, 'Behavior'),
      h('dd', {}, s.Behavior || 'release'),
      h('dt', {}, 'TTL'),
      h('dd', {}, s.TTL || 'none'),
      h('dt', {}, 'Lock delay'),
      h('dd', {}, seconds(s.LockDelay)),
      h('dt', {}, 'Checks'),
      h('dd', {}, checks.length ? checks.join(', ') : 'none'),
      h('dt', {}, 'Locks held'),
      h(
        'dd',
        {},
        held.length
          ? h('ul', { class: 'meta-list' }, held.map((k) => h('li', { class: 'lock' }, h('a', { class: 'tag', href: links.kv(k) }, k))))
          : h('span', { class: 'muted' }, 'none'),
      ),
    ),
  );
}

export function nodeView(root, route, { signal }) {
  const name = route.name;
  setTitle(name, 'Nodes');
  const state = h('span', {});
  const facts = h('div', { class: 'facts' }, 'Loading…');
  const details = h('dl', { class: 'kv-pairs' });
  const nodeChecks = h('ul', { class: 'checks' });
  const serviceChecks = h('ul', { class: 'checks' });
  const instances = h('tbody', {});
  const sessions = h('div', { class: 'session-list' }, h('p', { class: 'muted' }, 'Loading sessions…'));
  const countOf = () => h('span', { class: 'count-pill' }, '0');
  const counters = { instances: countOf(), nodeChecks: countOf(), serviceChecks: countOf(), sessions: countOf() };
  const section = (title, counter, ...body) =>
    h('section', { class: 'section', 'aria-label': title }, h('h2', {}, title, counter), ...body);

  root.append(
    h(
      'section',
      { class: 'page', 'aria-labelledby': 'page-title' },
      h('a', { class: 'back-link', href: links.nodes() }, '← All nodes'),
      h('div', { class: 'page-head' }, h('div', {}, h('div', { class: 'detail-head' }, h('h1', { id: 'page-title' }, name), state), facts)),
      h('div', { class: 'card node-details' }, details),
      section(
        'Service instances',
        counters.instances,
        h(
          'table',
          { class: 'table' },
          h('thead', {}, h('tr', {}, ['Service', 'ID', 'Health', 'Address', 'Tags'].map((c) => h('th', { scope: 'col' }, c)))),
          instances,
        ),
      ),
      section('Node checks', counters.nodeChecks, nodeChecks),
      section('Service checks', counters.serviceChecks, serviceChecks),
      section('Sessions', counters.sessions, sessions),
    ),
  );

  const onError = (err) => {
    if (err) showError(err);
  };

  // the node, its services and checks
  watch(
    `/v1/internal/ui/node/${encodeURIComponent(name)}`,
    {},
    (node, res) => {
      if (res.status === 404 || !node) {
        state.replaceChildren();
        facts.textContent = `No node named “${name}” is registered. It appears here as soon as it is.`;
        details.replaceChildren();
        for (const el of [nodeChecks, serviceChecks, instances]) el.replaceChildren();
        for (const k of ['instances', 'nodeChecks', 'serviceChecks']) counters[k].textContent = '0';
        return;
      }
      const checks = node.Checks || [];
      const services = node.Services || [];
      state.replaceChildren(badge(aggregate(checks.map((c) => c.Status))));
      facts.replaceChildren(
        h('span', {}, 'Address ', h('strong', { class: 'mono' }, node.Address)),
        h('span', {}, h('strong', {}, String(services.length)), services.length === 1 ? ' service instance' : ' service instances'),
        counts(countChecks(checks)),
      );
      details.replaceChildren(
        h('dt', {}, 'Node ID'),
        h('dd', { class: 'mono' }, node.ID || '—'),
        h('dt', {}, 'Tagged addresses'),
        h('dd', {}, pairs(node.TaggedAddresses)),
        h('dt', {}, 'Meta'),
        h('dd', {}, pairs(node.Meta)),
      );
      const own = checks.filter((c) => !c.ServiceID);
      const ofServices = checks.filter((c) => c.ServiceID);
      counters.instances.textContent = String(services.length);
      counters.nodeChecks.textContent = String(own.length);
      counters.serviceChecks.textContent = String(ofServices.length);
      replaceKeepingFocus(
        instances,
        services.length
          ? services.map((s) => instanceRow(s, checks, node.Address))
          : [h('tr', {}, h('td', { class: 'empty-cell', colspan: 5 }, 'No services on this node.'))],
        'data-service-instance',
      );
      replaceKeepingFocus(nodeChecks, own.length ? own.map(checkItem) : [h('li', { class: 'muted' }, 'No node checks.')], 'data-check');
      replaceKeepingFocus(
        serviceChecks,
        ofServices.length ? ofServices.map(checkItem) : [h('li', { class: 'muted' }, 'No service checks.')],
        'data-check',
      );
    },
    { signal, onError, accept: [404] },
  );

  // sessions, and the locks they hold (keys whose Session is theirs)
  let sessionList = null;
  let locks = new Map();
  const renderSessions = () => {
    if (!sessionList) return;
    counters.sessions.textContent = String(sessionList.length);
    sessions.replaceChildren(
      ...(sessionList.length ? sessionList.map((s) => sessionCard(s, locks)) : [h('p', { class: 'muted' }, 'This node holds no sessions.')]),
    );
  };
  watch(
    `/v1/session/node/${encodeURIComponent(name)}`,
    {},
    (data) => {
      sessionList = Array.isArray(data) ? data : [];
      renderSessions();
    },
    { signal, onError },
  );
  watch(
    '/v1/kv/',
    { recurse: true },
    (data) => {
      locks = new Map();
      for (const e of Array.isArray(data) ? data : []) {
        if (!e.Session) continue;
        if (!locks.has(e.Session)) locks.set(e.Session, []);
        locks.get(e.Session).push(e.Key);
      }
      renderSessions();
    },
    { signal, onError, accept: [404] },
  );
  return {};
}
