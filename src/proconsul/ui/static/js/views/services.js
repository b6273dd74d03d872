// Services: the list (one row per service name, health summary, search and health filter) and one
// service's instances with every check.

import { watch } from '../api.js';
import { h, hostPort, plural, replaceKeepingFocus, setTitle } from '../dom.js';
import { aggregate, badge, counts, countChecks, stateOfCounts } from '../health.js';
import { showError } from '../notify.js';
import { links } from '../router.js';

// The filter survives a visit to a service and back.
const filters = { text: '', health: 'all' };

function summaryState(s) {
  return stateOfCounts(s.ChecksPassing, s.ChecksWarning, s.ChecksCritical);
}

function matches(s, text, health) {
  if (health !== 'all' && summaryState(s) !== health) return false;
  if (!text) return true;
  const needle = text.toLowerCase();
  return s.Name.toLowerCase().includes(needle) || (s.Tags || []).some((t) => t.toLowerCase().includes(needle));
}

function tagList(tags) {
  return h('span', { class: 'tags' }, (tags || []).map((t) => h('span', { class: 'tag' }, t)));
}

function serviceRow(s) {
  const state = summaryState(s);
  return h(
    'tr',
    { 'data-service': s.Name, 'data-state': state },
    h(
      'td',
      { class: 'name', 'data-label': 'Service' },
      h('a', { href: links.service(s.Name) }, s.Name),
      s.Kind ? h('span', { class: 'muted' }, ` (${s.Kind})`) : null,
    ),
    h('td', { 'data-label': 'Health' }, badge(state)),
    h(
      'td',
      { 'data-label': 'Checks' },
      counts({ passing: s.ChecksPassing, warning: s.ChecksWarning, critical: s.ChecksCritical }),
    ),
    h(
      'td',
      { class: 'num', 'data-label': 'Instances' },
      h(
        'span',
        {},
        h('span', { class: 'instances' }, String(s.InstanceCount)),
        h('span', { class: 'muted' }, ` on ${plural((s.Nodes || []).length, 'node')}`),
      ),
    ),
    h('td', { 'data-label': 'Tags' }, tagList(s.Tags)),
  );
}

function messageRow(text, columns) {
  return h('tr', {}, h('td', { class: 'empty-cell', colspan: columns }, text));
}

export function servicesView(root, _route, { signal }) {
  setTitle('Services');
  let services = null;
  const subtitle = h('p', { class: 'subtitle' }, 'Loading…');
  const filterInput = h('input', {
    id: 'filter',
    type: 'search',
    placeholder: 'Name or tag',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-controls': 'services-table',
  });
  filterInput.value = filters.text;
  const healthSelect = h(
    'select',
    { id: 'health-filter', 'aria-controls': 'services-table' },
    h('option', { value: 'all' }, 'All'),
    h('option', { value: 'passing' }, 'Passing'),
    h('option', { value: 'warning' }, 'Warning'),
    h('option', { value: 'critical' }, 'Critical'),
  );
  healthSelect.value = filters.health;
  const tbody = h('tbody', {}, messageRow('Loading services…', 5));
  const table = h(
    'table',
    { class: 'table', id: 'services-table', 'data-testid': 'services' },
    h('caption', { class: 'visually-hidden' }, 'Services and their health'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Service', 'Health', 'Checks', 'Instances', 'Tags'].map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    tbody,
  );

  root.append(
    h(
      'section',
      { class: 'page', 'aria-labelledby': 'page-title' },
      h(
        'div',
        { class: 'page-head' },
        h('div', {}, h('h1', { id: 'page-title' }, 'Services'), subtitle),
        h(
          'div',
          { class: 'toolbar', role: 'search' },
          h('div', { class: 'field' }, h('label', { for: 'filter' }, 'Search'), filterInput),
          h('div', { class: 'field' }, h('label', { for: 'health-filter' }, 'Health'), healthSelect),
        ),
      ),
      table,
    ),
  );

  function render() {
    if (!services) return;
    const shown = services.filter((s) => matches(s, filters.text, filters.health));
    const byState = { passing: 0, warning: 0, critical: 0 };
    for (const s of services) byState[summaryState(s)] += 1;
    subtitle.textContent =
      `${plural(services.length, 'service')} · ${byState.passing} passing · ` +
      `${byState.warning} warning · ${byState.critical} critical` +
      (shown.length !== services.length ? ` · ${shown.length} shown` : '');
    let rows = shown.map(serviceRow);
    if (services.length === 0) rows = [messageRow('No services are registered in this datacenter yet.', 5)];
    else if (shown.length === 0) rows = [messageRow('No service matches the filter.', 5)];
    replaceKeepingFocus(tbody, rows, 'data-service');
  }

  filterInput.addEventListener('input', () => {
    filters.text = filterInput.value.trim();
    render();
  });
  healthSelect.addEventListener('change', () => {
    filters.health = healthSelect.value;
    render();
  });

  watch(
    '/v1/internal/ui/services',
    {},
    (data) => {
      services = Array.isArray(data) ? data : [];
      render();
    },
    {
      signal,
      onError(err) {
        if (!err) return;
        showError(err);
        if (!services) tbody.replaceChildren(messageRow(`Could not load services: ${err.message}`, 5));
      },
    },
  );
  return {};
}

// ---- one service -------------------------------------------------------------------------------
function metaList(meta) {
  const entries = Object.entries(meta || {});
  if (entries.length === 0) return h('span', { class: 'muted' }, '—');
  return h(
    'ul',
    { class: 'meta-list' },
    entries.map(([k, v]) => h('li', { class: 'meta' }, h('span', { class: 'meta-key' }, `${k}: `), h('span', { class: 'meta-value' }, v))),
  );
}

export function checkItem(c) {
  const kind = c.ServiceID ? 'service check' : 'node check';
  return h(
    'li',
    { class: 'check', 'data-check': c.CheckID, 'data-state': c.Status },
    h(
      'div',
      { class: 'check-head' },
      badge(c.Status),
      h('span', { class: 'check-name' }, c.Name || c.CheckID),
      h('span', { class: 'check-id' }, c.CheckID),
      h('span', { class: 'check-type' }, c.Type ? `${c.Type} ${kind}` : kind),
    ),
    h('pre', { class: 'check-output' }, c.Output || ''),
    h('p', { class: 'check-notes' }, c.Notes || ''),
  );
}

function instanceCard(entry) {
  const svc = entry.Service;
  const node = entry.Node;
  const checks = entry.Checks || [];
  const state = aggregate(checks.map((c) => c.Status));
  const tagNodes = (svc.Tags || []).length ? tagList(svc.Tags) : h('span', { class: 'muted' }, '—');
  return h(
    'article',
    { class: 'instance', 'data-instance': svc.ID, 'data-state': state, 'aria-label': `Instance ${svc.ID}` },
    h('div', { class: 'instance-head' }, h('h3', {}, svc.ID), badge(state)),
    h(
      'dl',
      { class: 'kv-pairs' },
      h('dt', {}, 'Node'),
      h('dd', {}, h('a', { class: 'node', href: links.node(node.Node) }, node.Node)),
      h('dt', {}, 'Address'),
      h('dd', {}, h('span', { class: 'address mono' }, hostPort(svc.Address || node.Address, svc.Port))),
      h('dt', {}, 'Tags'),
      h('dd', {}, tagNodes),
      h('dt', {}, 'Meta'),
      h('dd', {}, metaList(svc.Meta)),
    ),
    h('h4', { class: 'visually-hidden' }, `Checks of ${svc.ID}`),
    checks.length
      ? h('ul', { class: 'checks' }, checks.map(checkItem))
      : h('p', { class: 'muted' }, 'No health checks: the instance counts as passing.'),
  );
}

export function serviceView(root, route, { signal }) {
  const name = route.name;
  setTitle(name, 'Services');
  const state = h('span', {});
  const facts = h('div', { class: 'facts' }, 'Loading…');
  const list = h('div', { class: 'instance-list' });
  root.append(
    h(
      'section',
      { class: 'page', 'aria-labelledby': 'page-title' },
      h('a', { class: 'back-link', href: links.services() }, '← All services'),
      h('div', { class: 'page-head' }, h('div', {}, h('div', { class: 'detail-head' }, h('h1', { id: 'page-title' }, name), state), facts)),
      h('h2', { class: 'visually-hidden' }, 'Instances'),
      list,
    ),
  );

  let loaded = false;
  watch(
    `/v1/health/service/${encodeURIComponent(name)}`,
    {},
    (data) => {
      loaded = true;
      const entries = Array.isArray(data) ? data : [];
      const all = entries.flatMap((e) => e.Checks || []);
      const seen = new Map(all.map((c) => [`${c.Node}/${c.CheckID}`, c]));
      const c = countChecks([...seen.values()]);
      const tags = [...new Set(entries.flatMap((e) => e.Service.Tags || []))].sort();
      const nodes = new Set(entries.map((e) => e.Node.Node));
      state.replaceChildren(entries.length ? badge(stateOfCounts(c.passing, c.warning, c.critical)) : '');
      facts.replaceChildren(
        h('span', {}, h('strong', {}, String(entries.length)), entries.length === 1 ? ' instance' : ' instances'),
        h('span', {}, 'on ', h('strong', {}, String(nodes.size)), nodes.size === 1 ? ' node' : ' nodes'),
        counts(c),
        tags.length ? tagList(tags) : null,
      );
      if (entries.length === 0) {
        list.replaceChildren(
          h('p', { class: 'empty card' }, `No instance of “${name}” is registered. It appears here as soon as one is.`),
        );
        return;
      }
      replaceKeepingFocus(list, entries.map(instanceCard), 'data-instance');
    },
    {
      signal,
      onError(err) {
        if (!err) return;
        showError(err);
        if (!loaded) facts.textContent = `Could not load ${name}: ${err.message}`;
      },
    },
  );
  return {};
}
