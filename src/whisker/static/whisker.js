// The flow viewer page: a live table of flows from `flows?watch=true` (Server-Sent Events), filters kept in
// the page's URL, and a flow's details: its key, stats, enforced and pending policy traces with the deciding
// hit marked, and the deciding rule's YAML from `policy`. Every text from the server is set with
// textContent (never parsed as HTML). Plain browser JavaScript, no build step, no external fetches.

const MAX_ROWS = 2000;
/** How far back a (re)opened stream starts, as Whisker does: the last hour (Goldmane's window). */
const BACKFILL_SECONDS = 3600;
const FILTER_FIELDS = [
  'source_namespace',
  'source_name',
  'dest_namespace',
  'dest_name',
  'policy',
  'action',
  'port',
];

const form = document.getElementById('filters');
const tbody = document.querySelector('#flows tbody');
const statusLine = document.getElementById('status');
const emptyLine = document.getElementById('empty');
const pauseButton = document.getElementById('pause');
const details = document.getElementById('details');
const detailsBody = document.getElementById('details-body');

let source;
let paused = false;
let selectedRow;

/** The filter values in the page's URL. */
function urlFilters() {
  const q = new URLSearchParams(location.search);
  return Object.fromEntries(FILTER_FIELDS.map((f) => [f, q.get(f) ?? '']));
}

/** whisker-backend's `filters` JSON for the filter values. */
function apiFilters(v) {
  const f = {};
  const fuzzy = (value) => [{ value, type: 'Fuzzy' }];
  if (v.source_namespace) f.source_namespaces = [{ value: v.source_namespace, type: 'Exact' }];
  if (v.dest_namespace) f.dest_namespaces = [{ value: v.dest_namespace, type: 'Exact' }];
  if (v.source_name) f.source_names = fuzzy(v.source_name);
  if (v.dest_name) f.dest_names = fuzzy(v.dest_name);
  if (v.policy) f.policies = [{ name: { value: v.policy, type: 'Fuzzy' } }];
  if (v.action) f.actions = [v.action];
  if (v.port) f.dest_ports = [{ value: Number(v.port) }];
  return f;
}

function el(tag, text, attrs = {}) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  for (const [k, val] of Object.entries(attrs)) e.setAttribute(k, val);
  return e;
}

function time(iso) {
  return new Date(iso).toLocaleTimeString([], { hour12: false });
}

/** The hit that decided a trace: the last one that is not a pass (its action is the trace's verdict). */
function decidingIndex(hits) {
  for (let i = hits.length - 1; i >= 0; i--) if (hits[i].action !== 'Pass') return i;
  return hits.length - 1;
}

/** The verdict staged policies would give (the enforced one when the pending trace is empty). */
function pendingAction(flow) {
  const hits = flow.policies.pending ?? [];
  const i = decidingIndex(hits);
  return i < 0 ? flow.action : hits[i].action;
}

function addRow(flow) {
  const tr = document.createElement('tr');
  const pending = pendingAction(flow);
  const cells = [
    time(flow.start_time),
    time(flow.end_time),
    flow.action,
    flow.source_namespace,
    flow.source_name,
    flow.dest_namespace,
    flow.dest_name,
    flow.protocol,
    flow.dest_port,
    flow.reporter,
  ];
  for (const c of cells) tr.append(el('td', c));
  tr.children[2].className = `action-${flow.action}`;
  const pendingCell = el('td');
  if (pending !== flow.action)
    pendingCell.append(el('span', `Pending: ${pending}`, { class: 'pending-differs' }));
  tr.append(pendingCell);
  const open = el('button', 'Details', {
    type: 'button',
    'aria-label': `Details of ${flow.action} flow ${flow.source_namespace}/${flow.source_name} to ${flow.dest_namespace}/${flow.dest_name} port ${flow.dest_port}`,
  });
  open.addEventListener('click', () => showDetails(flow, tr));
  const cell = el('td');
  cell.append(open);
  tr.append(cell);
  tbody.prepend(tr);
  while (tbody.rows.length > MAX_ROWS) tbody.lastElementChild.remove();
  emptyLine.hidden = true;
}

function hitKindLabel(hit) {
  return hit.kind === 'EndOfTier' ? 'End of tier' : hit.kind;
}

function hitName(hit) {
  const h = hit.kind === 'EndOfTier' && hit.trigger ? hit.trigger : hit;
  return h.namespace && h.namespace !== '-' ? `${h.namespace}/${h.name}` : h.name;
}

function traceTable(label, hits) {
  const table = el('table', undefined, { 'aria-label': label });
  const head = el('tr');
  for (const h of ['#', 'Tier', 'Kind', 'Name', 'Rule', 'Action', ''])
    head.append(el('th', h, { scope: 'col' }));
  table.append(el('thead'));
  table.tHead.append(head);
  const body = el('tbody');
  const decider = decidingIndex(hits);
  hits.forEach((hit, i) => {
    const tr = el('tr');
    const tier = hit.kind === 'Profile' ? '__PROFILE__' : hit.tier;
    const rule = hit.rule_index < 0 ? 'end of tier' : `rule ${hit.rule_index}`;
    for (const c of [hit.policy_index, tier, hitKindLabel(hit), hitName(hit), rule, hit.action])
      tr.append(el('td', c));
    if (i === decider) {
      tr.className = 'deciding';
      tr.setAttribute('aria-current', 'true');
      tr.append(el('td', 'deciding'));
    } else tr.append(el('td'));
    body.append(tr);
  });
  table.append(body);
  return table;
}

async function fetchPolicy(hit) {
  const q = new URLSearchParams({ kind: hit.kind, namespace: hit.namespace ?? '', name: hit.name });
  const res = await fetch(`policy?${q}`);
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ?? res.statusText);
  return body;
}

/** The deciding rule of a trace, explained, with its YAML (ingress for the destination's report, else egress). */
async function ruleSection(title, hit, flow) {
  const section = el('section', undefined, { 'aria-label': title });
  section.append(el('h3', title));
  if (!hit) {
    section.append(el('p', 'No policy applied.'));
    return section;
  }
  if (hit.kind === 'Profile') {
    section.append(
      el('p', `Profile ${hit.name} decided (${hit.action}): no policy of the endpoint matched.`),
    );
    return section;
  }
  let policyHit = hit;
  if (hit.kind === 'EndOfTier') {
    const trigger = hit.trigger ? `${hit.trigger.kind} ${hitName(hit.trigger)}` : 'unknown';
    section.append(
      el(
        'p',
        `End of tier ${hit.tier}: no policy of the tier matched, so the tier ${hit.action === 'Pass' ? 'passed' : 'denied'}. The tier applied because of ${trigger}.`,
      ),
    );
    if (!hit.trigger) return section;
    policyHit = hit.trigger;
  }
  const direction = flow.reporter === 'Src' ? 'egress' : 'ingress';
  try {
    const policy = await fetchPolicy(policyHit);
    if (hit.kind !== 'EndOfTier') {
      section.append(
        el('p', `${policyHit.kind} ${hitName(policyHit)}, ${direction} rule ${hit.rule_index}:`),
      );
      const rule = policy[direction][hit.rule_index];
      section.append(
        el('pre', rule ?? `(no ${direction} rule ${hit.rule_index} in the stored policy)`, {
          'aria-label': `${title} rule YAML`,
        }),
      );
      if (policy.rulesNote) section.append(el('p', policy.rulesNote));
    }
    const whole = el('details');
    whole.append(el('summary', `${policyHit.kind} ${hitName(policyHit)} as YAML`));
    whole.append(el('pre', policy.yaml, { 'aria-label': `${title} policy YAML` }));
    section.append(whole);
  } catch (e) {
    section.append(el('p', `Policy ${hitName(policyHit)}: ${e.message}`, { role: 'alert' }));
  }
  return section;
}

async function showDetails(flow, row) {
  if (selectedRow) selectedRow.classList.remove('selected');
  selectedRow = row;
  row.classList.add('selected');
  detailsBody.replaceChildren();
  const dl = el('dl', undefined, { 'aria-label': 'Flow key and stats' });
  const fields = [
    ['Action', flow.action],
    ['Source', `${flow.source_namespace}/${flow.source_name}`],
    ['Source labels', flow.source_labels],
    ['Destination', `${flow.dest_namespace}/${flow.dest_name}`],
    ['Destination labels', flow.dest_labels],
    ['Protocol', flow.protocol],
    ['Port', flow.dest_port],
    ['Reporter', flow.reporter],
    ['Start', flow.start_time],
    ['End', flow.end_time],
    ['Packets in / out', `${flow.packets_in} / ${flow.packets_out}`],
    ['Bytes in / out', `${flow.bytes_in} / ${flow.bytes_out}`],
  ];
  for (const [k, v] of fields) dl.append(el('dt', k), el('dd', v));
  detailsBody.append(dl);
  const pending = pendingAction(flow);
  if (pending !== flow.action) {
    detailsBody.append(
      el(
        'p',
        `Pending differs from enforced: staged policies would ${pending} this flow (enforced: ${flow.action}).`,
        {
          class: 'pending-differs',
          role: 'note',
          'aria-label': 'Pending verdict differs',
        },
      ),
    );
  }
  const enforced = flow.policies.enforced ?? [];
  const pendingHits = flow.policies.pending ?? [];
  detailsBody.append(el('h3', 'Enforced policies'), traceTable('Enforced policies', enforced));
  detailsBody.append(el('h3', 'Pending policies'), traceTable('Pending policies', pendingHits));
  details.hidden = false;
  const sections = await Promise.all([
    ruleSection('Enforced deciding rule', enforced[decidingIndex(enforced)], flow),
    ruleSection('Pending deciding rule', pendingHits[decidingIndex(pendingHits)], flow),
  ]);
  if (selectedRow === row) detailsBody.append(...sections);
}

function startStream() {
  if (source) source.close();
  tbody.replaceChildren();
  emptyLine.hidden = false;
  const filters = JSON.stringify(apiFilters(urlFilters()));
  const q = new URLSearchParams({ watch: 'true', filters, startTimeGte: String(-BACKFILL_SECONDS) });
  source = new EventSource(`flows?${q}`);
  source.onopen = () => {
    // A reopened stream backfills the window again: start from an empty table.
    tbody.replaceChildren();
    emptyLine.hidden = false;
    statusLine.textContent = 'Streaming flows (last hour, live)';
  };
  source.onmessage = (ev) => {
    if (!paused) addRow(JSON.parse(ev.data));
  };
  source.onerror = () => {
    statusLine.textContent = 'Stream interrupted; reconnecting…';
  };
}

function fillForm() {
  const v = urlFilters();
  for (const f of FILTER_FIELDS) form.elements[f].value = v[f];
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const q = new URLSearchParams();
  for (const f of FILTER_FIELDS) {
    const value = form.elements[f].value.trim();
    if (value !== '') q.set(f, value);
  }
  history.replaceState(null, '', `${location.pathname}${q.size > 0 ? `?${q}` : ''}`);
  details.hidden = true;
  startStream();
});
form.addEventListener('reset', () => {
  history.replaceState(null, '', location.pathname);
  details.hidden = true;
  queueMicrotask(startStream);
});
pauseButton.addEventListener('click', () => {
  paused = !paused;
  pauseButton.setAttribute('aria-pressed', String(paused));
  pauseButton.textContent = paused ? 'Resume' : 'Pause';
});
document.getElementById('close-details').addEventListener('click', () => {
  details.hidden = true;
});

fillForm();
startStream();
