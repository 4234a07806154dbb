// The playground page: one group chat, the persona's private chat with the bot, live updates
// over Server-Sent Events (polling when they fail). Everything shown is built with
// textContent, never innerHTML: messages are user input.
(() => {
  'use strict';

  const $ = (sel, el = document) => el.querySelector(sel);
  const $$ = (sel, el = document) => Array.from(el.querySelectorAll(sel));
  const botName = document.body.dataset.bot || '邻里帮';

  const EXAMPLES = {
    resident: ['3栋2单元楼道灯坏了，电话13800001234', '我的', '确认 1 5星 很及时', '帮助'],
    member: ['待办', '接单 1', '完成 1 已换灯泡', '我的任务'],
    gridworker: ['待办', '帮助'],
    secretary: ['待办', '派单 1 截止 明天18点', '发布 周六上午清理楼道 需要5人 截止 周六12点', '督办 1'],
    street: ['待办', '督办 1', '帮助'],
  };

  const state = {
    group: '',      // "local:xingfuli"
    user: '',       // "local:chen"
    replyTo: null,  // {id, label}
    byId: new Map(), // message id → message (group and private)
    rev: 0,         // newest revision seen
    source: null,   // EventSource
    pollTimer: 0,
    generation: 0,  // bumped on every switch: late answers of an old view are dropped
    dmUnread: 0,
  };

  // ---------- helpers ----------

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  let toastTimer = 0;
  function toast(msg) {
    const t = $('#toast');
    t.textContent = msg;
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, 4000);
  }

  async function api(method, url, body) {
    const res = await fetch(url, {
      method,
      headers: body ? { 'Content-Type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    let data = null;
    try { data = await res.json(); } catch (_) { /* not JSON */ }
    if (!res.ok) {
      throw new Error((data && data.error) || ('请求失败（' + res.status + '）'));
    }
    return data;
  }

  function fmtTime(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return '';
    const hm = String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
    const now = new Date();
    if (d.toDateString() === now.toDateString()) return hm;
    return (d.getMonth() + 1) + '月' + d.getDate() + '日 ' + hm;
  }

  function summary(m) {
    if (!m) return '';
    const s = m.card ? m.card.title : m.text;
    return (s || '').replace(/\s+/g, ' ').slice(0, 40);
  }

  function personaName(id) {
    const o = $$('#persona option').find((x) => x.value === id);
    return o ? o.dataset.name : id;
  }

  // ---------- rendering ----------

  function renderCard(m, c, isPrivate) {
    const card = el('div', 'card card-' + (c.color || 'blue'));
    card.dataset.key = c.key || '';
    card.appendChild(el('div', 'card-title', c.title));
    if (c.mentions && c.mentions.length) {
      card.appendChild(el('div', 'card-mentions', c.mentions.map((x) => '@' + x.name).join(' ')));
    }
    if (c.text) card.appendChild(el('div', 'card-text', c.text));
    if (c.fields && c.fields.length) {
      const fields = el('div', 'card-fields');
      for (const f of c.fields) {
        const row = el('div', 'field' + (f.short ? ' short' : ''));
        row.appendChild(el('span', 'field-label', f.label));
        row.appendChild(el('span', 'field-value', f.value));
        fields.appendChild(row);
      }
      card.appendChild(fields);
    }
    if (c.buttons && c.buttons.length) {
      const btns = el('div', 'card-btns');
      for (const b of c.buttons) {
        const btn = el('button', 'card-btn btn-' + (b.style || 'default'), b.label);
        btn.type = 'button';
        btn.dataset.action = b.action;
        btn.dataset.item = String(b.item || 0);
        btn.dataset.value = b.value || '';
        btn.dataset.message = m.id;
        btn.addEventListener('click', () => tap(m, b, btn, isPrivate));
        btns.appendChild(btn);
      }
      card.appendChild(btns);
    }
    if (c.footer) card.appendChild(el('div', 'card-footer', c.footer));
    return card;
  }

  function renderMessage(m, isPrivate) {
    const fromBot = m.from === 'bot';
    const mine = !fromBot && m.user === state.user;
    const row = el('div', (isPrivate ? 'dm' : 'msg') + (fromBot ? ' from-bot' : ' from-user') + (mine ? ' mine' : ''));
    row.dataset.id = m.id;
    row.dataset.from = fromBot ? 'bot' : 'user';
    if (m.user) row.dataset.user = m.user;

    const avatar = el('div', 'avatar' + (fromBot ? ' avatar-bot' : ''), (m.name || '?').slice(0, 1));
    row.appendChild(avatar);
    const body = el('div', 'body');
    const meta = el('div', 'meta');
    meta.appendChild(el('span', 'name', m.name));
    meta.appendChild(el('span', 'time', fmtTime(m.at)));
    if (m.edited) meta.appendChild(el('span', 'edited', '已更新'));
    body.appendChild(meta);

    if (m.reply_to) {
      const ref = state.byId.get(String(m.reply_to));
      const q = el('div', 'quote', '回复 ' + (ref ? ref.name + '：' + summary(ref) : '#' + m.reply_to));
      q.dataset.replyTo = m.reply_to;
      q.addEventListener('click', () => {
        const target = $('[data-id="' + CSS.escape(String(m.reply_to)) + '"]');
        if (target) { target.scrollIntoView({ behavior: 'smooth', block: 'center' }); flash(target); }
      });
      body.appendChild(q);
    }
    if (m.text || (m.mentions && m.mentions.length)) {
      const bubble = el('div', 'bubble');
      if (m.mentions && m.mentions.length) {
        for (const x of m.mentions) bubble.appendChild(el('span', 'at', '@' + x.name + ' '));
      }
      bubble.appendChild(document.createTextNode(m.text || ''));
      body.appendChild(bubble);
    }
    if (m.card) body.appendChild(renderCard(m, m.card, isPrivate));
    if (m.image) {
      const img = el('img', 'msg-image');
      img.src = m.image;
      img.alt = (m.card && m.card.title) || '图表';
      img.loading = 'lazy';
      body.appendChild(img);
    }
    if (fromBot && !isPrivate) {
      const reply = el('a', 'reply-link', '回复');
      reply.href = '#';
      reply.dataset.id = m.id;
      reply.addEventListener('click', (e) => { e.preventDefault(); setReply(m); });
      body.appendChild(reply);
    }
    row.appendChild(body);
    return row;
  }

  function flash(node) {
    node.classList.add('flash');
    setTimeout(() => node.classList.remove('flash'), 1200);
  }

  // upsert shows a new message or replaces an updated one in place.
  function upsert(m) {
    const isPrivate = !m.group;
    if (isPrivate ? m.to !== state.user : m.group !== state.group) return;
    if (m.rev > state.rev) state.rev = m.rev;
    const id = String(m.id);
    const known = state.byId.get(id);
    if (known && known.rev >= m.rev) return;
    state.byId.set(id, m);
    const list = isPrivate ? $('#dms') : $('#messages');
    const node = renderMessage(m, isPrivate);
    const old = $(':scope > [data-id="' + CSS.escape(id) + '"]', list);
    if (old) {
      old.replaceWith(node);
      if (known) flash(node);
      return;
    }
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 120;
    // Keep id order even when a stream and a fetch race.
    const after = $$(':scope > [data-id]', list).find((x) => Number(x.dataset.id) > Number(id));
    list.insertBefore(node, after || null);
    if (isPrivate) {
      $('#dm-empty').hidden = true;
      if (m.from === 'bot' && state.loaded && getComputedStyle($('#dm-panel')).display === 'none') {
        state.dmUnread++;
        showUnread();
      }
    } else {
      $('#empty').hidden = true;
    }
    if (nearBottom || m.user === state.user || !state.loaded) list.scrollTop = list.scrollHeight;
  }

  function showUnread() {
    const b = $('#dm-badge');
    b.textContent = String(state.dmUnread);
    b.hidden = state.dmUnread === 0;
  }

  function setReply(m) {
    state.replyTo = { id: String(m.id), label: m.name + '：' + summary(m) };
    $('#replying-text').textContent = state.replyTo.label;
    $('#replying').hidden = false;
    $('#text').focus();
  }

  function clearReply() {
    state.replyTo = null;
    $('#replying').hidden = true;
  }

  function renderExamples() {
    const opt = $('#persona').selectedOptions[0];
    const role = opt ? opt.dataset.role : 'resident';
    const box = $('#examples');
    box.textContent = '';
    box.appendChild(el('span', 'examples-label', '试试：'));
    for (const ex of EXAMPLES[role] || EXAMPLES.resident) {
      const chip = el('button', 'example', ex);
      chip.type = 'button';
      chip.addEventListener('click', () => { $('#text').value = ex; $('#text').focus(); });
      box.appendChild(chip);
    }
  }

  // ---------- actions ----------

  async function send() {
    const input = $('#text');
    const raw = input.value.trim();
    if (!raw || !state.group || !state.user) return;
    let text = raw;
    if ($('#mention').checked && !text.startsWith('@' + botName) && !text.startsWith('＠' + botName)) {
      text = '@' + botName + ' ' + text;
    }
    const body = { group: state.group, user: state.user, text };
    if (state.replyTo) body.reply_to = state.replyTo.id;
    input.value = '';
    const reply = state.replyTo;
    clearReply();
    try {
      await api('POST', '/local/messages', body);
      if (state.pollTimer) pollNow();
    } catch (err) {
      toast(err.message);
      input.value = raw;
      if (reply) setReply(state.byId.get(reply.id) || { id: reply.id, name: '', text: reply.label });
    }
  }

  async function sendPrivate() {
    const input = $('#dm-text');
    const text = input.value.trim();
    if (!text || !state.user) return;
    input.value = '';
    try {
      await api('POST', '/local/messages', { user: state.user, text });
      if (state.pollTimer) pollNow();
    } catch (err) {
      toast(err.message);
      input.value = text;
    }
  }

  async function tap(m, b, btn, isPrivate) {
    btn.disabled = true;
    try {
      await api('POST', '/local/actions', {
        group: isPrivate ? '' : state.group, user: state.user, message: String(m.id), action: b.action, value: b.value || '',
      });
      if (state.pollTimer) pollNow();
    } catch (err) {
      toast(err.message);
    } finally {
      btn.disabled = false;
    }
  }

  // ---------- live updates ----------

  function setConn(text, cls) {
    const c = $('#conn');
    c.textContent = text;
    c.className = 'conn ' + (cls || '');
  }

  function stopLive() {
    if (state.source) { state.source.close(); state.source = null; }
    if (state.pollTimer) { clearTimeout(state.pollTimer); state.pollTimer = 0; }
  }

  function startStream() {
    if (!window.EventSource) { startPolling(); return; }
    const gen = state.generation;
    const url = '/local/stream?group=' + encodeURIComponent(state.group) + '&user=' + encodeURIComponent(state.user) + '&since=' + state.rev;
    const es = new EventSource(url);
    state.source = es;
    let failures = 0;
    es.onopen = () => { failures = 0; setConn('实时', 'live'); };
    es.onmessage = (e) => {
      if (gen !== state.generation) return;
      try { upsert(JSON.parse(e.data)); } catch (_) { /* ignore a bad event */ }
    };
    es.onerror = () => {
      if (gen !== state.generation) return;
      failures++;
      setConn('重连中…', 'retry');
      // EventSource reconnects by itself (resuming from Last-Event-ID); give up on it only
      // when it stopped trying or keeps failing.
      if (es.readyState === EventSource.CLOSED || failures >= 3) {
        es.close();
        state.source = null;
        startPolling();
      }
    };
  }

  function startPolling() {
    setConn('轮询', 'poll');
    pollNow();
  }

  async function pollNow() {
    if (state.pollTimer) clearTimeout(state.pollTimer);
    const gen = state.generation;
    try {
      const since = state.rev;
      const [g, d] = await Promise.all([
        api('GET', '/local/messages?group=' + encodeURIComponent(state.group) + '&since=' + since),
        api('GET', '/local/messages?user=' + encodeURIComponent(state.user) + '&since=' + since),
      ]);
      if (gen !== state.generation) return;
      g.messages.concat(d.messages).sort((a, b) => a.rev - b.rev).forEach(upsert);
      setConn('轮询', 'poll');
    } catch (_) {
      if (gen !== state.generation) return;
      setConn('连接断开', 'down');
    }
    state.pollTimer = setTimeout(pollNow, 2000);
  }

  // ---------- switching ----------

  async function load() {
    stopLive();
    const gen = ++state.generation;
    state.byId.clear();
    state.rev = 0;
    state.loaded = false;
    state.dmUnread = 0;
    showUnread();
    clearReply();
    $$('#messages > [data-id]').forEach((n) => n.remove());
    $$('#dms > [data-id]').forEach((n) => n.remove());
    $('#empty').hidden = true;
    $('#dm-empty').hidden = false;
    $('#dm-who').textContent = personaName(state.user);
    for (const g of $$('.group')) g.classList.toggle('active', g.dataset.group === state.group);
    const active = $('.group.active');
    $('#chat-title').textContent = active ? active.dataset.name : '请选择群聊';
    renderExamples();
    setConn('连接中…', '');
    try {
      const [g, d] = await Promise.all([
        api('GET', '/local/messages?group=' + encodeURIComponent(state.group) + '&after=0'),
        api('GET', '/local/messages?user=' + encodeURIComponent(state.user) + '&after=0'),
      ]);
      if (gen !== state.generation) return;
      g.messages.forEach(upsert);
      d.messages.forEach(upsert);
      // Resume from the older of the two answers; anything seen twice is dropped by id.
      state.rev = Math.min(g.rev, d.rev);
      state.loaded = true;
      $('#empty').hidden = g.messages.length > 0;
      $('#messages').scrollTop = $('#messages').scrollHeight;
      $('#dms').scrollTop = $('#dms').scrollHeight;
    } catch (err) {
      if (gen !== state.generation) return;
      toast(err.message);
    }
    startStream();
  }

  function selectGroup(id) {
    if (!id || id === state.group) return;
    state.group = id;
    localStorage.setItem('neighborbot.group', id);
    load();
  }

  function init() {
    const groups = $$('.group');
    const persona = $('#persona');
    if (!groups.length || !persona.options.length) {
      toast('没有配置本地群或身份。');
      return;
    }
    const savedUser = localStorage.getItem('neighborbot.persona');
    if (savedUser && $$('#persona option').some((o) => o.value === savedUser)) persona.value = savedUser;
    state.user = persona.value;
    const savedGroup = localStorage.getItem('neighborbot.group');
    state.group = groups.some((g) => g.dataset.group === savedGroup) ? savedGroup : groups[0].dataset.group;

    persona.addEventListener('change', () => {
      state.user = persona.value;
      localStorage.setItem('neighborbot.persona', state.user);
      load();
    });
    for (const g of groups) {
      g.addEventListener('click', () => selectGroup(g.dataset.group));
      g.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); selectGroup(g.dataset.group); } });
    }
    const enterSends = (input, fn) => input.addEventListener('keydown', (e) => {
      // Enter while an IME is composing (pinyin) picks characters; it must not send.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        fn();
      }
    });
    enterSends($('#text'), send);
    enterSends($('#dm-text'), sendPrivate);
    $('#composer').addEventListener('submit', (e) => { e.preventDefault(); send(); });
    $('#dm-form').addEventListener('submit', (e) => { e.preventDefault(); sendPrivate(); });
    $('#cancel-reply').addEventListener('click', clearReply);
    document.addEventListener('keydown', (e) => { if (e.key === 'Escape') clearReply(); });
    $('#dm-toggle').addEventListener('click', () => {
      const open = document.body.classList.toggle('dm-open');
      if (open) { state.dmUnread = 0; showUnread(); $('#dms').scrollTop = $('#dms').scrollHeight; }
    });
    $('#dm-close').addEventListener('click', () => document.body.classList.remove('dm-open'));
    load();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
