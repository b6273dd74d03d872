// Health states: aggregation as Consul does it, and how a state looks (colour plus icon plus word).

import { h, icon } from './dom.js';

export const STATES = ['passing', 'warning', 'critical'];
const LABELS = { passing: 'Passing', warning: 'Warning', critical: 'Critical', maintenance: 'Maintenance' };

/** critical if any check is critical, else warning if any is, else passing. */
export function aggregate(statuses) {
  let worst = 'passing';
  for (const s of statuses) {
    if (s === 'critical') return 'critical';
    if (s === 'warning') worst = 'warning';
  }
  return worst;
}

export function stateOfCounts(passing, warning, critical) {
  if (critical > 0) return 'critical';
  if (warning > 0) return 'warning';
  return 'passing';
}

export function countChecks(checks) {
  const counts = { passing: 0, warning: 0, critical: 0 };
  for (const c of checks || []) if (c.Status in counts) counts[c.Status] += 1;
  return counts;
}

export function isMaintenance(check) {
  return check.CheckID === '_node_maintenance' || (check.CheckID || '').startsWith('_service_maintenance:');
}

/** A pill with icon and word: readable without colour. */
export function badge(state, text) {
  const known = state in LABELS ? state : 'unknown';
  return h('span', { class: 'badge', 'data-state': known }, icon(known), text || LABELS[known] || state || 'Unknown');
}

/** "✓ 3  ! 1  ✕ 0" with class names per state, each number in its own element. */
export function counts({ passing, warning, critical }) {
  const item = (state, n, label) =>
    h(
      'span',
      { class: `c c-${state}${n === 0 ? ' zero' : ''}`, title: `${n} ${label}` },
      icon(state),
      h('span', { class: `${state}-count` }, String(n)),
      h('span', { class: 'visually-hidden' }, ` ${label}`),
    );
  return h(
    'span',
    { class: 'counts' },
    item('passing', passing, 'passing'),
    item('warning', warning, 'warning'),
    item('critical', critical, 'critical'),
  );
}
