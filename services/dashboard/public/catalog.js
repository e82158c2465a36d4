// The event catalog page: renders GET /catalog.json (the spec's AsyncAPI document and the views derived
// from it). Everything is built with DOM nodes and textContent: spec text (descriptions, docs, names) is
// user input and never parsed as HTML.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  window.catalog = { loaded: false, error: null, data: null };

  /** An element with text (never HTML), a class and children. */
  function el(tag, options, ...children) {
    const node = document.createElement(tag);
    const o = options || {};
    if (o.text !== undefined && o.text !== null) node.textContent = String(o.text);
    if (o.className) node.className = o.className;
    if (o.href) node.setAttribute('href', o.href);
    if (o.id) node.id = o.id;
    for (const [k, v] of Object.entries(o.data || {})) node.dataset[k] = v;
    node.append(...children.filter(Boolean));
    return node;
  }

  const row = (cells, options) => el('tr', options, ...cells.map((c) => (c instanceof Node ? c : el('td', { text: c }))));
  const table = (headers, rows, className) =>
    el('table', { className }, el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', { text: h })))), el('tbody', {}, ...rows));

  function duration(s) {
    if (s === undefined || s === null) return '–';
    if (s % 86400 === 0 && s >= 86400) return `${s / 86400}d`;
    if (s % 3600 === 0 && s >= 3600) return `${s / 3600}h`;
    if (s % 60 === 0 && s >= 60) return `${s / 60}m`;
    return `${s}s`;
  }

  function renderTopic(topic) {
    const section = el('section', { className: 'catalog-topic', id: `topic-${topic.name}`, data: { topic: topic.name } });
    section.append(el('h2', { text: `Topic ${topic.name}` }));
    if (topic.description) section.append(el('p', { className: 'description', text: topic.description }));
    const facts = [
      ['owner', topic.owner || '–'],
      ['retention', duration(topic.retentionSeconds)],
      ['ordering key', topic.orderingKeyField || 'none (unordered)'],
      ['compatibility', topic.compatibility || '–'],
      ['current revision', topic.currentRevision || '–'],
      ['revisions', topic.revisions.map((r) => (r.accepted ? r.revision : `${r.revision} (not accepted)`)).join(', ')],
    ];
    section.append(el('dl', { className: 'facts' }, ...facts.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })])));

    section.append(el('h3', { text: 'Event types, with an example payload (the message body) per schema revision' }));
    section.append(el('div', { className: 'event-types' }, ...topic.eventTypes.map((eventType) => renderEventType(topic, eventType))));

    section.append(el('h3', { text: 'Consumers' }));
    section.append(
      table(
        ['consumer', 'delivery', 'handled by', 'ordering', 'lag SLO', 'recovery (RTO / RPO)', 'owner', 'reads'],
        topic.consumers.map((c) =>
          row(
            [
              c.name,
              c.delivery,
              c.service ? `service ${c.service}` : c.table ? `table ${c.table}` : '–',
              [c.ordering ? 'ordered' : 'unordered', c.exactlyOnce ? 'exactly-once' : ''].filter(Boolean).join(', '),
              `oldest unacked ≤ ${duration(c.slo.oldestUnackedSeconds)}, backlog ≤ ${Number(c.slo.backlog).toLocaleString('en-US')}`,
              c.slo.rtoSeconds === undefined ? '–' : `${duration(c.slo.rtoSeconds)} / ${duration(c.slo.rpoSeconds)}`,
              c.owner || '–',
              el('td', { className: 'reads', text: c.readsDeclared ? c.reads.join(', ') : `${c.reads.join(', ')} (not declared)` }),
            ],
            { data: { consumer: c.name } },
          ),
        ),
        'consumers',
      ),
    );

    section.append(el('h3', { text: 'Schema history' }));
    const history = el('div', { className: 'history' });
    for (const diff of topic.history) history.append(renderDiff(diff));
    if (!topic.history.length) history.append(el('p', { className: 'muted', text: 'one revision, no history yet' }));
    for (const r of topic.revisions) {
      history.append(
        el(
          'details',
          { className: 'avro', data: { revision: r.revision } },
          el('summary', { text: `${r.revision} Avro schema${r.accepted ? '' : ' (not accepted)'}` }),
          el('pre', { text: JSON.stringify(r.schema, null, 2) }),
        ),
      );
    }
    section.append(history);
    return section;
  }

  function renderEventType(topic, eventType) {
    const box = el('div', { className: 'event-type', data: { eventType: eventType.type } });
    box.append(el('h4', { text: eventType.type }));
    for (const example of eventType.examples.slice().reverse()) {
      const details = el(
        'details',
        { className: 'example', data: { revision: example.revision } },
        el('summary', { text: `example, written with ${example.revision}` }),
        el('pre', { className: 'payload', text: JSON.stringify(example.payload, null, 2) }),
        el(
          'details',
          { className: 'attributes' },
          el('summary', { className: 'muted', text: 'with the message attributes' }),
          el('pre', { className: 'headers', text: JSON.stringify(example.headers, null, 2) }),
        ),
      );
      if (example.revision === topic.currentRevision) details.open = true;
      box.append(details);
    }
    return box;
  }

  const CHANGE_LABEL = {
    added: 'added',
    removed: 'removed',
    type: 'type changed',
    default: 'default changed',
    doc: 'doc changed',
    deprecated: 'deprecated',
    undeprecated: 'no longer deprecated',
  };

  function renderDiff(diff) {
    const box = el('div', { className: 'diff', data: { from: diff.from, to: diff.to } });
    box.append(el('h4', { text: `${diff.from} → ${diff.to}` }));
    if (!diff.changes.length) return box.appendChild(el('p', { className: 'muted', text: 'no field changes' })) && box;
    box.append(
      table(
        ['field', 'change', 'before', 'after'],
        diff.changes.map((c) =>
          row(
            [
              c.field,
              el('td', { className: 'kind', text: CHANGE_LABEL[c.kind] || c.kind }),
              c.before === undefined ? '' : c.before,
              c.after === undefined ? '' : c.after,
            ],
            {
              className: `change-${c.kind}`,
              data: { field: c.field, kind: c.kind },
            },
          ),
        ),
      ),
    );
    return box;
  }

  function render(data) {
    const doc = data.document;
    $('catalog-version').textContent = `AsyncAPI ${doc.asyncapi} · ${doc.info.title} · ${doc.info.version}`;
    $('catalog-toc').replaceChildren(
      el('span', { className: 'muted', text: 'topics: ' }),
      ...data.topics.map((t) => el('a', { href: `#topic-${encodeURIComponent(t.name)}`, text: t.name, className: 'toc' })),
    );
    $('catalog-topics').replaceChildren(...data.topics.map(renderTopic));
    const tags = new Map((doc.info.tags || []).map((t) => [t.name, t.description]));
    const owners = Object.entries(data.owners).map(([name, contacts]) =>
      row([name, tags.get(`owner:${name}`) || '', contacts.join(', ')], { data: { owner: name } }),
    );
    if (!owners.length) owners.push(row(['no owners in the spec', '', '']));
    $('owner-table')
      .querySelector('tbody')
      .replaceChildren(...owners);
  }

  fetch('catalog.json')
    .then((res) => (res.ok ? res.json() : res.json().then((b) => Promise.reject(new Error(b.error || res.statusText)))))
    .then((data) => {
      window.catalog.data = data;
      render(data);
      $('catalog-status').textContent = `${data.topics.length} topics`;
      $('catalog-status').className = 'status live';
      window.catalog.loaded = true;
    })
    .catch((error) => {
      window.catalog.error = error.message;
      $('catalog-status').textContent = `unavailable: ${error.message}`;
      $('catalog-status').className = 'status down';
    });
})();
