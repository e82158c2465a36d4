// The dashboard's triage panels: each consumer's dead-letter hold against its triage SLA, and the
// hottest ordering keys per topic. app.js calls render() with every snapshot and its DOM helpers.
(function () {
  'use strict';
  let $, cell, fmt, seconds;

  // Per consumer: its hold against the triage SLA (red past it, amber while anything waits).
  function renderDeadLetters(s) {
    const latest = new Map(((s.health.latest && s.health.latest.consumers) || []).map((h) => [h.consumer, h]));
    const rows = s.consumers.map((c) => {
      const h = latest.get(c.name);
      const hold = h && h.hold;
      const tr = document.createElement('tr');
      tr.dataset.consumer = c.name;
      tr.className = !hold ? 'unknown' : hold.pastSla ? 'breached' : hold.held ? 'dead-letters' : 'ok';
      const reasons = !hold
        ? '–'
        : hold.topReasons
          ? hold.topReasons.map((r) => `${r.reason} ${fmt(r.count)}`).join(', ') || '–'
          : `npm run mesh -- dead-letters ${c.name}`;
      tr.append(
        cell(c.name),
        cell(hold ? fmt(hold.held) : '–', 'held'),
        cell(hold ? `${hold.oldestSeconds === null ? '–' : seconds(hold.oldestSeconds)} / ${seconds(hold.triageSlaSeconds)}` : '–', 'oldest'),
        cell(reasons, 'reasons'),
        cell(hold && hold.schemaFailuresLastHour !== undefined ? fmt(hold.schemaFailuresLastHour) : '–'),
      );
      return tr;
    });
    $('dead-letter-holds')
      .querySelector('tbody')
      .replaceChildren(...rows);
  }

  function renderHotKeys(s) {
    const rows = [];
    for (const t of s.hotKeys || []) {
      for (const k of t.keys) {
        const tr = document.createElement('tr');
        tr.dataset.topic = t.topic;
        tr.append(
          cell(t.topic),
          cell(k.key, 'key'),
          cell(`${Math.round(k.share * 100)}%`, 'share'),
          cell(k.perSecond.toFixed(1)),
          cell(`${(k.ofKeyLimit * 100).toFixed(1)}%`),
        );
        rows.push(tr);
      }
    }
    $('hot-key-table')
      .querySelector('tbody')
      .replaceChildren(...rows);
  }

  window.triagePanels = {
    render(s, helpers) {
      ({ $, cell, fmt, seconds } = helpers);
      renderDeadLetters(s);
      renderHotKeys(s);
    },
  };
})();
