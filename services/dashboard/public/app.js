// The live dashboard page: one EventSource on /api/stream, charts updated in place (no reloads).
/* global Chart */
(function () {
  'use strict';
  const MINUTES = 30;
  const HOURS = 24;
  const COLORS = ['#2563eb', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6', '#06b6d4', '#ec4899', '#84cc16', '#64748b', '#d97706'];
  const $ = (id) => document.getElementById(id);
  const fmt = (n) => Number(n || 0).toLocaleString('en-US');
  const charts = {};
  const lagCharts = {};
  window.dashboard = { charts, lagCharts, snapshots: 0, last: null, anomalies: null };

  const base = (stacked) => ({
    animation: false,
    responsive: true,
    maintainAspectRatio: true,
    aspectRatio: 2.2,
    scales: { x: { stacked }, y: { stacked, beginAtZero: true, ticks: { precision: 0 } } },
    plugins: { legend: { position: 'bottom', labels: { boxWidth: 10 } } },
  });
  charts.minutes = new Chart($('chart-minutes'), { type: 'bar', data: { labels: [], datasets: [] }, options: base(true) });
  charts.users = new Chart($('chart-users'), {
    type: 'line',
    data: { labels: [], datasets: [{ label: 'unique users', data: [], borderColor: COLORS[0], tension: 0.2, pointRadius: 2 }] },
    options: base(false),
  });
  charts.hours = new Chart($('chart-hours'), { type: 'bar', data: { labels: [], datasets: [] }, options: base(true) });
  charts.orders = new Chart($('chart-orders'), {
    type: 'bar',
    data: { labels: [], datasets: [{ label: 'orders', data: [], backgroundColor: COLORS[2] }] },
    options: { ...base(false), plugins: { legend: { display: false } } },
  });

  /** Keys of the last `count` windows up to `at`, oldest first (the server's key format). */
  function windowKeys(at, sizeMs, count, keyLength) {
    const end = Math.floor(Date.parse(at) / sizeMs) * sizeMs;
    const keys = [];
    for (let i = count - 1; i >= 0; i--) keys.push(new Date(end - i * sizeMs).toISOString().slice(0, keyLength));
    return keys;
  }

  function series(windows, keys, pick) {
    const byKey = new Map(windows.map((w) => [w.window, w]));
    return keys.map((k) => (byKey.has(k) ? pick(byKey.get(k)) : 0));
  }

  const assigned = new Map();
  /** One colour per series label for the life of the page. */
  function colorOf(label) {
    if (!assigned.has(label)) assigned.set(label, COLORS[assigned.size % COLORS.length]);
    return assigned.get(label);
  }

  function setDatasets(chart, labels, datasets) {
    chart.data.labels = labels;
    // Keep dataset objects (and their colours) stable across updates.
    const old = new Map(chart.data.datasets.map((d) => [d.label, d]));
    chart.data.datasets = datasets.map((d) => Object.assign(old.get(d.label) || { backgroundColor: colorOf(d.label), borderColor: colorOf(d.label) }, d));
    chart.update('none');
  }

  function render(s) {
    window.dashboard.snapshots++;
    window.dashboard.last = s;
    $('updated-at').textContent = new Date(s.at).toLocaleTimeString();
    const minuteKeys = windowKeys(s.at, 60000, MINUTES, 16);
    const hourKeys = windowKeys(s.at, 3600000, HOURS, 13);
    const minutes = s.windows.minute;
    const hours = s.windows.hour;
    const current = (list, key) => list.find((w) => w.window === key);
    const thisMinute = current(minutes, s.current.minute.window);
    const thisHour = current(hours, s.current.hour.window);
    $('total-minute').textContent = fmt(thisMinute && thisMinute.total);
    $('total-hour').textContent = fmt(thisHour && thisHour.total);
    $('total-30m').textContent = fmt(minutes.reduce((sum, w) => sum + w.total, 0));
    $('users-hour').textContent = fmt(thisHour && thisHour.users.total);
    $('users-error').textContent = thisHour ? ` ±${(thisHour.users.standardError * 100).toFixed(1)}%` : '';
    $('likes-hour').textContent = fmt(thisHour && thisHour.likes);

    const pairs = new Set();
    for (const w of minutes) for (const [topic, types] of Object.entries(w.events)) for (const type of Object.keys(types)) pairs.add(`${topic}|${type}`);
    const minuteLabels = minuteKeys.map((k) => k.slice(11));
    setDatasets(
      charts.minutes,
      minuteLabels,
      [...pairs].sort().map((p) => {
        const [topic, type] = p.split('|');
        return { label: `${topic} ${type}`, data: series(minutes, minuteKeys, (w) => (w.events[topic] || {})[type] || 0) };
      }),
    );
    charts.users.data.labels = minuteLabels;
    charts.users.data.datasets[0].data = series(minutes, minuteKeys, (w) => w.users.total);
    charts.users.update('none');

    const topics = new Set();
    for (const w of hours) for (const t of Object.keys(w.topics)) topics.add(t);
    setDatasets(
      charts.hours,
      hourKeys.map((k) => `${k.slice(11)}:00`),
      [...topics].sort().map((t) => ({ label: t, data: series(hours, hourKeys, (w) => w.topics[t] || 0) })),
    );

    const states = thisHour ? thisHour.orders : {};
    charts.orders.data.labels = Object.keys(states).sort();
    charts.orders.data.datasets[0].data = charts.orders.data.labels.map((k) => states[k]);
    charts.orders.update('none');

    const posts = $('top-posts').querySelector('tbody');
    posts.replaceChildren(
      ...s.current.hour.topPosts.map((p) => {
        const tr = document.createElement('tr');
        tr.append(cell(p.postId), cell(fmt(p.likes)));
        return tr;
      }),
    );
    renderHealth(s);
    window.triagePanels.render(s, { $, cell, fmt, seconds });
  }

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  // A paused consumer's oldest message can be days old: hours and days past two of the unit below.
  const seconds = (s) =>
    s === null || s === undefined
      ? '–'
      : s < 120
        ? `${s.toFixed(1)} s`
        : s < 7200
          ? `${(s / 60).toFixed(1)} min`
          : s < 172800
            ? `${(s / 3600).toFixed(1)} h`
            : `${(s / 86400).toFixed(1)} d`;

  const STATE_TEXT = { ok: 'ok', 'dead-letters': 'dead letters waiting', breached: 'SLO breached', paused: 'PAUSED', 'buffer-at-risk': 'BUFFER AT RISK' };

  const days = (s) => `${+(s / 86400).toFixed(1)} d`;
  // The oldest unacked message's age against the subscription's retention: past 100 % Pub/Sub drops
  // messages. Rounded down (times 100 first), so 79.9 % never reads as the 80 % that turns the row red.
  const buffer = (h, retentionSeconds) => {
    const retention = (h && h.retentionSeconds) || retentionSeconds;
    if (!h) return retention ? `– of ${days(retention)}` : '–';
    return `${Math.floor(((h.oldestUnackedSeconds || 0) * 100) / retention)}% of ${days(retention)}`;
  };
  const pausedText = (p) => `paused since ${new Date(p.since).toLocaleString()} by ${p.owner}: ${p.intent} (operation ${p.operationId})`;

  // The private path (<c>-redrive: replays and redrives): its own backlog, never the real-time SLO's.
  const privatePath = (h) =>
    !h || !h.privatePath ? '–' : h.privatePath.backlog ? `${fmt(h.privatePath.backlog)}, oldest ${seconds(h.privatePath.oldestUnackedSeconds)}` : '0';

  function renderHealth(s) {
    $('health-source').textContent =
      `(${s.health.source}${s.health.latest ? `, measured ${new Date(s.health.latest.at).toLocaleTimeString()}` : ', no reading yet'})`;
    const latest = new Map(((s.health.latest && s.health.latest.consumers) || []).map((h) => [h.consumer, h]));
    const rows = s.consumers.map((c) => {
      const h = latest.get(c.name);
      const tr = document.createElement('tr');
      tr.dataset.consumer = c.name;
      tr.className = h ? h.state : 'unknown';
      const name = cell(c.name);
      const status = cell(h ? STATE_TEXT[h.state] || h.state : 'unknown', 'status-cell');
      // Who paused it and why: a small line under the name (the status cell keeps its one word).
      if (h && h.paused) {
        tr.dataset.paused = 'true';
        tr.title = status.title = pausedText(h.paused);
        const by = document.createElement('small');
        by.className = 'paused-by';
        by.textContent = `paused by ${h.paused.owner}: ${h.paused.intent}`;
        name.append(by);
      }
      const bufferCell = cell(buffer(h, c.retentionSeconds), 'buffer');
      if (h && h.bufferAtRisk) bufferCell.title = "past the retention Pub/Sub drops the consumer's oldest messages";
      tr.append(
        name,
        cell(c.topic),
        cell(c.delivery),
        cell(h ? fmt(h.backlog) : '–'),
        cell(fmt(c.slo.backlog)),
        cell(h ? seconds(h.oldestUnackedSeconds) : '–'),
        cell(seconds(c.slo.oldestUnackedSeconds)),
        bufferCell,
        cell(h ? fmt(h.deadLettered) : '–'),
        cell(privatePath(h), 'private-path'),
        status,
      );
      return tr;
    });
    $('health')
      .querySelector('tbody')
      .replaceChildren(...rows);

    // One lag chart per consumer: oldest unacked age over time, the SLO as a dashed line.
    const history = s.health.history || [];
    const labels = history.map((r) => new Date(r.at).toLocaleTimeString());
    for (const c of s.consumers) {
      let chart = lagCharts[c.name];
      if (!chart) {
        const fig = document.createElement('figure');
        fig.innerHTML = `<figcaption>${c.name}: oldest unacked (s)</figcaption>`;
        const canvas = document.createElement('canvas');
        canvas.id = `lag-${c.name}`;
        fig.append(canvas);
        $('lag-charts').append(fig);
        chart = lagCharts[c.name] = new Chart(canvas, {
          type: 'line',
          data: {
            labels: [],
            datasets: [
              { label: 'lag', data: [], borderColor: COLORS[0], pointRadius: 0, tension: 0.2 },
              { label: `SLO ${seconds(c.slo.oldestUnackedSeconds)}`, data: [], borderColor: '#ef4444', borderDash: [6, 4], pointRadius: 0 },
            ],
          },
          options: {
            animation: false,
            aspectRatio: 2.4,
            scales: { y: { beginAtZero: true } },
            plugins: { legend: { position: 'bottom', labels: { boxWidth: 10 } } },
          },
        });
      }
      chart.data.labels = labels;
      chart.data.datasets[0].data = history.map((r) => {
        const h = r.consumers.find((x) => x.consumer === c.name);
        return h && h.oldestUnackedSeconds !== null ? h.oldestUnackedSeconds : 0;
      });
      chart.data.datasets[1].data = history.map(() => c.slo.oldestUnackedSeconds);
      chart.update('none');
    }
  }

  // Order anomalies and parity results come from their own endpoints, polled: they change rarely.
  const PANEL_POLL_MS = 5000;

  /** Fetches `url` every PANEL_POLL_MS and renders it; says in `statusId` when it cannot. */
  async function poll(url, render, statusId) {
    try {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      render(await response.json());
    } catch (error) {
      $(statusId).textContent = `(unavailable: ${error.message})`;
    } finally {
      setTimeout(() => poll(url, render, statusId), PANEL_POLL_MS);
    }
  }

  function renderAnomalies(a) {
    window.dashboard.anomalies = a;
    $('anomalies-status').textContent = `(${fmt(a.total)} since ${new Date(a.since).toLocaleString()})`;
    const head = $('anomaly-counts').querySelector('thead tr');
    head.replaceChildren(
      ...['topic', ...a.kinds, 'total'].map((text) => {
        const th = document.createElement('th');
        th.textContent = text;
        return th;
      }),
    );
    const topics = Object.keys(a.counts).sort();
    const rows = topics.map((topic) => {
      const tr = document.createElement('tr');
      tr.dataset.topic = topic;
      const byKind = a.counts[topic];
      tr.append(cell(topic));
      for (const kind of a.kinds) {
        const td = cell(fmt(byKind[kind]), byKind[kind] ? 'anomaly' : '');
        td.dataset.kind = kind;
        tr.append(td);
      }
      tr.append(cell(fmt(Object.values(byKind).reduce((sum, n) => sum + n, 0))));
      return tr;
    });
    if (!rows.length) {
      const td = cell('no anomalies', 'muted');
      td.colSpan = a.kinds.length + 2;
      const tr = document.createElement('tr');
      tr.append(td);
      rows.push(tr);
    }
    $('anomaly-counts')
      .querySelector('tbody')
      .replaceChildren(...rows);
    $('anomaly-latest')
      .querySelector('tbody')
      .replaceChildren(
        ...a.latest.map((e) => {
          const tr = document.createElement('tr');
          tr.dataset.orderId = e.orderId;
          tr.title = `event ${e.eventId}, event time ${e.time}`;
          tr.append(cell(new Date(e.detectedAt).toLocaleTimeString()), cell(e.topic), cell(e.kind, 'anomaly'), cell(e.orderId), cell(e.type), cell(e.reason));
          return tr;
        }),
      );
  }

  // Parity: the latest recorded `mesh parity` result per topic (npm start runs it on a schedule).
  function renderParity(p) {
    window.dashboard.parity = p;
    $('parity-status').textContent = p.records.length ? '' : '(no run recorded yet: npm run mesh -- parity --record)';
    const verdicts = { ok: 'agree', pending: 'pending', mismatch: 'MISMATCH' };
    $('parity-results')
      .querySelector('tbody')
      .replaceChildren(
        ...p.records.map((r) => {
          const tr = document.createElement('tr');
          tr.dataset.topic = r.topic;
          tr.dataset.verdict = r.verdict;
          tr.className = `parity-${r.verdict}`;
          tr.title = `${r.granularity} windows ${r.since} .. ${r.until} (${r.target})`;
          const checks = `${r.agree}/${r.checks} agree${r.pending ? `, ${r.pending} pending` : ''}${r.mismatches ? `, ${r.mismatches} mismatched` : ''}`;
          tr.append(
            cell(r.topic),
            cell(verdicts[r.verdict] ?? r.verdict, 'verdict'),
            cell(new Date(r.at).toLocaleTimeString()),
            cell(checks),
            cell(r.differences.join('\n')),
          );
          return tr;
        }),
      );
  }

  // Replays: the latest step of the most recent `mesh replay` runs (progress every 30 s while one runs).
  function renderReplays(r) {
    window.dashboard.replays = r;
    $('replays-status').textContent = r.replays.length ? '' : '(none yet: npm run mesh -- replay request ...)';
    $('replay-list')
      .querySelector('tbody')
      .replaceChildren(
        ...r.replays.map((x) => {
          const tr = document.createElement('tr');
          tr.dataset.replayId = x.replayId;
          tr.dataset.state = x.state;
          tr.className = `replay-${x.state}`;
          tr.title = `${x.topic}; by ${x.operator ?? '?'}${x.detail ? `; ${x.detail}` : ''}`;
          const progress = document.createElement('progress');
          progress.max = x.inScope || 1;
          progress.value = x.sent;
          const bar = cell(`${fmt(x.sent)}${x.inScope === undefined ? '' : ` / ${fmt(x.inScope)}`} `, 'progress');
          bar.append(progress);
          const rate = x.ratePerSecond === undefined ? '-' : `${x.ratePerSecond}/s (ceiling ${x.ceilingPerSecond}/s)`;
          tr.append(
            cell(x.replayId),
            cell(x.consumer),
            cell(x.state, 'state'),
            bar,
            cell(rate),
            cell(x.owner),
            cell(x.intent),
            cell(new Date(x.updatedAt).toLocaleTimeString()),
          );
          return tr;
        }),
      );
  }

  function connect() {
    const source = new EventSource('api/stream');
    source.addEventListener('open', () => {
      $('connection').textContent = 'live';
      $('connection').className = 'status live';
    });
    source.addEventListener('snapshot', (e) => render(JSON.parse(e.data)));
    source.addEventListener('error', () => {
      $('connection').textContent = 'reconnecting…';
      $('connection').className = 'status down';
    });
  }
  connect();
  poll('api/anomalies', renderAnomalies, 'anomalies-status');
  poll('api/parity', renderParity, 'parity-status');
  poll('api/replays', renderReplays, 'replays-status');
})();
