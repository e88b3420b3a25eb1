/*! SegDesk pixel: page, identify and track events in Segment's wire format,
 * sent to the relay that serves this file. How it behaves: docs/pixel.md. */
(() => {
  'use strict';
  // Whatever goes wrong stays in here: the pixel must never break the page.
  try {
    const w = window, d = document, nav = navigator, loc = location, H = history;
    const YEAR = 31536000, QUEUE = 'sd_queue', MAX_QUEUE = 200, BATCH = 20, WAIT_FOR_ID = 300;
    const LIB = { name: 'segdesk-pixel', version: '1.0.0' };
    const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
    const CLICK_IDS = ['gclid', 'fbclid', 'msclkid'];

    const safe = (fn) => function () {
      try { return fn.apply(this, arguments); } catch (e) { /* never into the page */ }
    };
    const lsGet = (k) => { try { return localStorage.getItem(k); } catch (e) { return null; } };
    const lsSet = (k, v) => {
      try { v == null ? localStorage.removeItem(k) : localStorage.setItem(k, v); } catch (e) { /* full or blocked */ }
    };
    const uuid = () => {
      const c = w.crypto;
      if (c && c.randomUUID) return c.randomUUID(); // only in secure contexts
      return '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (x) =>
        (x ^ (c ? c.getRandomValues(new Uint8Array(1))[0] : Math.random() * 256) & 15 >> x / 4).toString(16));
    };

    // ---- cookies ----
    const cookie = (name) => {
      const m = d.cookie.match('(?:^|; )' + name + '=([^;]*)');
      return m && decodeURIComponent(m[1]);
    };
    // The highest parent domain that accepts a cookie (example.co.uk, not co.uk),
    // so one visitor id covers www.example.com, shop.example.com and the relay.
    let domain;
    const cookieDomain = () => {
      if (domain == null) {
        domain = '';
        const host = loc.hostname, parts = host.split('.');
        if (!/^[\d.]+$|:/.test(host)) {
          for (let i = parts.length - 2; i >= 0 && !domain; i--) {
            const dom = parts.slice(i).join('.');
            d.cookie = 'sd_probe=1; Path=/; Domain=' + dom;
            if (cookie('sd_probe')) {
              domain = dom;
              d.cookie = 'sd_probe=; Max-Age=0; Path=/; Domain=' + dom;
            }
          }
        }
      }
      return domain;
    };
    const setCookie = (name, value, maxAge) => {
      const dom = cookieDomain();
      d.cookie = name + '=' + encodeURIComponent(value) + '; Max-Age=' + maxAge + '; Path=/; SameSite=Lax' +
        (dom ? '; Domain=' + dom : '') + (loc.protocol == 'https:' ? '; Secure' : '');
    };
    // Opt-out and staff exclusion live in a cookie (shared by subdomains) and in
    // localStorage (outlives Safari's 7-day cap on script cookies).
    const flag = (name, on) => {
      if (on == null) return cookie(name) == '1' || lsGet(name) == '1';
      setCookie(name, on ? '1' : '', on ? YEAR : 0);
      lsSet(name, on ? '1' : null);
    };

    // ---- configuration, from the script tag ----
    const stub = w.segdesk;
    if (stub && stub.loaded) return;
    let tag = d.currentScript;
    if (!tag || !tag.getAttribute('data-write-key')) tag = d.querySelector('script[data-write-key]');
    if (!tag) return;
    const attr = (n, dflt) => tag.getAttribute('data-' + n) || dflt;
    const writeKey = attr('write-key');
    const relayUrl = new URL(tag.src, loc.href), relay = relayUrl.origin;
    const emailParam = attr('email-param', 'email'), contactParam = attr('contact-param', 'contact_id');
    const excludeParam = attr('exclude-param', 'sd_exclude');
    const gpc = nav.globalPrivacyControl === true;

    // ---- the landing URL: link identity and staff exclusion, then strip them ----
    const clean = (href) => {
      try {
        const u = new URL(href), p = u.searchParams;
        let hit;
        [emailParam, contactParam, excludeParam].forEach((k) => { if (p.has(k)) { p.delete(k); hit = 1; } });
        return hit ? u.href : href;
      } catch (e) {
        return href;
      }
    };
    const params = new URL(loc.href).searchParams, linkTraits = {};
    const email = (params.get(emailParam) || '').trim(), contactId = (params.get(contactParam) || '').trim();
    if (EMAIL.test(email)) linkTraits.email = email;
    if (contactId) linkTraits.contact_id = contactId;
    const exclude = params.get(excludeParam);
    // Strip first, so the email is out of the address bar (and out of referrers
    // and other scripts' reach) even when nothing is going to be sent.
    const landing = clean(loc.href);
    if (landing != loc.href) {
      try { H.replaceState(H.state, '', landing); } catch (e) { /* sandboxed frame */ }
    }
    if (gpc) {
      // An id from before the signal was turned on is of no more use.
      if (cookie('sd_aid')) setCookie('sd_aid', '', 0);
      lsSet('sd_aid');
      lsSet(QUEUE);
      w.segdesk = () => {};
      w.segdesk.loaded = 1;
      return;
    }
    if (exclude == '1' || exclude == '0') flag('sd_exclude', exclude == '1');
    const off = () => flag('sd_optout') || flag('sd_exclude');

    // ---- the queue: localStorage, so events outlive a page and an outage ----
    let mem = [];
    const readQ = () => {
      const s = lsGet(QUEUE);
      try { return s ? JSON.parse(s) : mem; } catch (e) { return []; }
    };
    const writeQ = (list) => {
      const s = JSON.stringify(list.slice(-MAX_QUEUE)); // throws before anything changes
      mem = JSON.parse(s);
      lsSet(QUEUE, s);
    };

    // ---- transport ----
    // The relay serving this file turns this to 0 when it has no site origins
    // configured: it then answers every site with `*`, which browsers refuse
    // for credentialed calls, so the pixel makes none (docs/relay.md, CORS).
    const RELAY_CREDENTIALS = 1;
    // Credentials only help when the relay shares the site's registrable domain
    // (its SameSite=Lax cookie is never sent cross-site), so only then ask for them.
    let cred;
    const credentials = () => {
      if (!cred) {
        const rh = relayUrl.hostname, dom = cookieDomain();
        cred = RELAY_CREDENTIALS && (rh == loc.hostname || (dom && ('.' + rh).endsWith('.' + dom)))
          ? 'include' : 'omit';
      }
      return cred;
    };
    const post = (body) => {
      const url = relay + '/v1/batch';
      if (!w.fetch) return nav.sendBeacon(url, new Blob([body], { type: 'text/plain' }));
      const go = (c) => fetch(url, {
        method: 'POST', body, keepalive: body.length < 32768, credentials: c,
        headers: { 'Content-Type': 'text/plain' },
      });
      const c = credentials();
      return go(c).catch((e) => {
        // A relay whose origins were removed since this script was cached
        // answers `*`, which browsers refuse for credentialed calls: go on without.
        if (c == 'omit') throw e;
        return go('omit').then((r) => { cred = 'omit'; return r; });
      // A 4xx other than 408/429 will not get better by retrying: drop the batch.
      }).then((r) => r.ok || (r.status > 399 && r.status < 500 && r.status != 408 && r.status != 429));
    };
    const inflight = {};
    let backoff = 0, timer, due;
    const flush = safe(() => {
      if (off()) return;
      const batch = readQ().filter((e) => !inflight[e.messageId]).slice(0, BATCH);
      if (!batch.length) return;
      const sentAt = new Date().toISOString(), ids = batch.map((e) => e.messageId);
      batch.forEach((e) => { inflight[e.messageId] = 1; e.sentAt = sentAt; });
      Promise.resolve(JSON.stringify({ batch, writeKey, sentAt })).then(post).catch(() => false).then(safe((ok) => {
        ids.forEach((id) => delete inflight[id]);
        if (ok) {
          writeQ(readQ().filter((e) => ids.indexOf(e.messageId) < 0));
          backoff = 0;
          flush();
        } else if (!timer) {
          backoff = Math.min(60000, backoff * 2 || 1000);
          timer = setTimeout(() => { timer = 0; flush(); }, backoff);
        }
      }));
    });
    // Events made in one go (e.g. identify + page on load) leave in one request;
    // a microtask still runs before a form submit navigates away.
    const soon = () => {
      if (!due) {
        due = 1;
        Promise.resolve().then(() => { due = 0; flush(); });
      }
    };

    // ---- events ----
    let aid = cookie('sd_aid');
    let here = { url: landing, ref: clean(d.referrer) };
    const send = (ev, extra) => {
      if (off()) return;
      const u = new URL(here.url), p = u.searchParams, campaign = {};
      ['source', 'medium', 'campaign', 'term', 'content'].forEach((k) => {
        const v = p.get('utm_' + k);
        if (v) campaign[k == 'campaign' ? 'name' : k] = v;
      });
      ev.anonymousId = aid;
      ev.messageId = uuid();
      ev.timestamp = new Date().toISOString();
      ev.context = Object.assign({
        page: { url: here.url, referrer: here.ref, path: u.pathname, title: d.title, search: u.search },
        userAgent: nav.userAgent,
        library: LIB,
        campaign: Object.keys(campaign).length ? campaign : undefined,
      }, extra);
      // The relay refuses a whole batch for one event over 32 KB: keep it out.
      if (JSON.stringify(ev).length > 30000) return;
      writeQ(readQ().concat(ev));
      soon();
    };
    const page = (name, props) => {
      if (typeof name == 'object') { props = name; name = undefined; }
      const u = new URL(here.url), clicks = {};
      CLICK_IDS.forEach((k) => { if (u.searchParams.get(k)) clicks[k] = u.searchParams.get(k); });
      send({
        type: 'page', name,
        properties: Object.assign({ url: here.url, path: u.pathname, referrer: here.ref, title: d.title, search: u.search },
          clicks, props),
      });
    };
    // identify(traits) or Segment's identify(userId, traits).
    const identify = (a, b, method) => {
      const ev = { type: 'identify' };
      if (a != null && typeof a != 'object') { ev.userId = String(a); a = b; }
      ev.traits = Object.assign({}, a);
      if (ev.traits.email) ev.traits.email = String(ev.traits.email).trim();
      send(ev, { segdesk: { method } });
    };
    const saveId = () => {
      if (!off()) {
        setCookie('sd_aid', aid, YEAR);
        lsSet('sd_aid', aid);
      }
    };
    const api = safe((cmd, a, b) => {
      if (cmd == 'page') page(a, b);
      else if (cmd == 'track' && a) send({ type: 'track', event: String(a), properties: Object.assign({}, b) });
      else if (cmd == 'identify') identify(a, b, 'manual');
      else if (cmd == 'optOut') {
        writeQ([]);
        flag('sd_optout', 1);
        setCookie('sd_aid', '', 0);
        lsSet('sd_aid');
        aid = uuid(); // an optIn starts afresh
      } else if (cmd == 'optIn') {
        flag('sd_optout', 0);
        saveId();
      }
    });

    // ---- navigation and forms ----
    // Hash-only changes are anchors, not pages, unless they look like a hash router.
    const key = (u) => u.replace(/#(?![/!]).*/, '');
    const navigated = safe((always) => {
      const u = clean(loc.href);
      if (always || key(u) != key(here.url)) {
        here = { url: u, ref: here.url };
        page();
      }
    });
    const onSubmit = safe((e) => {
      for (const el of e.target.elements || []) {
        const v = (el.value || '').trim();
        if (el.tagName == 'INPUT' && (el.type == 'email' || (el.type == 'text' && /email/i.test(el.name + ' ' + el.id))) &&
            EMAIL.test(v)) return identify({ email: v }, 0, 'form');
      }
    });

    const start = safe(() => {
      aid = aid || lsGet('sd_aid') || uuid();
      saveId();
      w.segdesk = api;
      api.loaded = 1;
      ['pushState', 'replaceState'].forEach((m) => {
        const orig = H[m];
        H[m] = function () {
          const r = orig.apply(this, arguments);
          navigated(m == 'pushState');
          return r;
        };
      });
      w.addEventListener('popstate', () => navigated());
      d.addEventListener('submit', onSubmit, true);
      w.addEventListener('online', () => { backoff = 0; flush(); });
      d.addEventListener('visibilitychange', () => { if (d.visibilityState == 'hidden') flush(); });
      if (linkTraits.email || linkTraits.contact_id) identify(linkTraits, 0, 'link');
      page();
      // Calls queued before the script loaded. Nothing has left yet, so a
      // queued optOut still stops the page view above.
      [].forEach.call((stub && stub.q) || [], (c) => api.apply(null, c));
      flush(); // leftovers from earlier pages
    });

    // A visitor without the script cookie may still be known to a same-site
    // relay by its HttpOnly cookie (Safari drops script cookies after 7 days):
    // ask it, briefly, before the first event.
    if (aid || off() || !w.fetch || credentials() != 'include') {
      start();
    } else {
      let done;
      const finish = (id) => {
        if (done) return;
        done = 1;
        if (typeof id == 'string' && id && id.length < 100) aid = id;
        start();
      };
      setTimeout(finish, WAIT_FOR_ID);
      fetch(relay + '/v1/id', { credentials: 'include' })
        .then((r) => r.json()).then((j) => finish(j && j.anonymousId), () => finish());
    }
  } catch (e) { /* never into the page */ }
})();
