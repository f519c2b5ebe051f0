// The field app: households, visits with photos and follow-up notes captured without signal,
// kept on this device encrypted (AES-GCM, with a key the server gives only to a signed-in
// session), and synced item by item with a key made here, so nothing is entered twice.
(function () {
  "use strict";
  var root = document.getElementById("field-app");
  if (!root || !window.indexedDB || !window.crypto || !crypto.subtle) return;

  var base = root.dataset.base;
  var PIECE = 256 * 1024;
  var DAY = 86400000;
  var draftDays = parseInt(root.dataset.draftDays, 10) || 7;
  var regencies = (root.dataset.regencies || "").split(" ");
  var kecamatan = (root.dataset.kecamatan || "").split(" ");
  var district = root.dataset.district || "";
  var state = { db: null, key: null, csrf: null, drafts: [], reference: null, syncing: null };

  // --- words (the page's language, from the template) ---------------------------------------
  function t(name, vars) {
    var id = "t" + name.replace(/(^|-)([a-z])/g, function (_, __, c) { return c.toUpperCase(); });
    var text = root.dataset[id] || name;
    Object.keys(vars || {}).forEach(function (k) { text = text.split("{" + k + "}").join(vars[k]); });
    return text;
  }
  function $(id) { return document.getElementById(id); }
  function show(id, text) { var el = $(id); el.textContent = text || ""; el.hidden = !text; }

  // --- IndexedDB ------------------------------------------------------------------------------
  function openDb() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open("slrt-field", 1);
      req.onupgradeneeded = function () {
        var db = req.result;
        db.createObjectStore("meta");
        db.createObjectStore("drafts", { keyPath: "id" });
        db.createObjectStore("photos", { keyPath: "id" });
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function tx(store, mode, fn) {
    return new Promise(function (resolve, reject) {
      var t = state.db.transaction(store, mode);
      var result = fn(t.objectStore(store));
      t.oncomplete = function () { resolve(result && "result" in result ? result.result : undefined); };
      t.onerror = function () { reject(t.error); };
    });
  }
  function get(store, key) { return tx(store, "readonly", function (s) { return s.get(key); }); }
  function put(store, value, key) {
    return tx(store, "readwrite", function (s) { return key === undefined ? s.put(value) : s.put(value, key); });
  }
  function del(store, key) { return tx(store, "readwrite", function (s) { return s.delete(key); }); }
  function all(store) { return tx(store, "readonly", function (s) { return s.getAll(); }); }
  function clear(store) { return tx(store, "readwrite", function (s) { return s.clear(); }); }

  // --- encryption -----------------------------------------------------------------------------
  function b64url(text) {
    var s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  function randomId(prefix) {
    var bytes = crypto.getRandomValues(new Uint8Array(12));
    return prefix + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  async function seal(value) {
    var iv = crypto.getRandomValues(new Uint8Array(12));
    var plain = value instanceof ArrayBuffer ? value : new TextEncoder().encode(JSON.stringify(value));
    return { iv: iv, data: await crypto.subtle.encrypt({ name: "AES-GCM", iv: iv }, state.key, plain) };
  }
  async function open(sealed, raw) {
    var plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: sealed.iv }, state.key, sealed.data);
    return raw ? plain : JSON.parse(new TextDecoder().decode(plain));
  }

  // --- the server -----------------------------------------------------------------------------
  function SignedOut() { this.name = "SignedOut"; }
  async function call(path, options) {
    options = options || {};
    var headers = Object.assign({ Accept: "application/json" }, options.headers || {});
    if (options.method && options.method !== "GET") headers["X-CSRFToken"] = state.csrf || "";
    var resp = await fetch(base + path, {
      method: options.method || "GET",
      headers: headers,
      body: options.body,
      credentials: "same-origin",
      cache: "no-store",
    });
    if ((resp.headers.get("Content-Type") || "").indexOf("json") < 0) throw new SignedOut();
    var body = await resp.json();
    if (!resp.ok) {
      var error = new Error(body.detail || String(resp.status));
      error.status = resp.status;
      error.body = body;
      throw error;
    }
    return body;
  }
  function json(path, value) {
    return call(path, { method: "POST", body: JSON.stringify(value), headers: { "Content-Type": "application/json" } });
  }

  // The key: fetched from the live session; kept (not extractable) only until `usable_until`
  // so the drafts open offline, and dropped when the session is gone.
  async function unlock() {
    var device = await get("meta", "device");
    if (!device) { device = randomId("d"); await put("meta", device, "device"); }
    var kept = await get("meta", "key");
    try {
      var answer = await call("key?device=" + device);
      if (kept && kept.account !== answer.account) await eraseAll(); // another person's drafts
      var key = await crypto.subtle.importKey("raw", b64url(answer.key), "AES-GCM", false, ["encrypt", "decrypt"]);
      state.key = key;
      state.csrf = answer.csrf_token;
      draftDays = answer.draft_days || draftDays;
      await put("meta", { key: key, account: answer.account, until: Date.parse(answer.usable_until) }, "key");
      return true;
    } catch (e) {
      if (e instanceof SignedOut) { await del("meta", "key"); return false; }
      if (kept && kept.until > Date.now()) { state.key = kept.key; return true; }
      if (kept) await del("meta", "key");
      return false;
    }
  }
  async function eraseAll() {
    await clear("drafts");
    await clear("photos");
    await del("meta", "reference");
  }

  // --- drafts ---------------------------------------------------------------------------------
  async function loadDrafts() {
    var rows = await all("drafts");
    var drafts = [];
    var expired = 0;
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].created < Date.now() - draftDays * DAY) { await dropDraft(rows[i]); expired++; continue; }
      var draft = await open(rows[i].sealed);
      draft.id = rows[i].id;
      draft.created = rows[i].created;
      drafts.push(draft);
    }
    drafts.sort(function (a, b) { return order(a) - order(b) || a.created - b.created; });
    state.drafts = drafts;
    if (expired) say(t("expired", { n: expired, days: draftDays }));
  }
  function order(d) { return { household: 0, intake: 1, follow_up: 2 }[d.kind]; }
  async function saveDraft(draft) {
    var body = Object.assign({}, draft);
    delete body.id; delete body.created;
    await put("drafts", { id: draft.id, created: draft.created, sealed: await seal(body) });
  }
  async function dropDraft(draft) {
    var photos = draft.photos || [];
    if (!photos.length && draft.sealed) { try { photos = (await open(draft.sealed)).photos || []; } catch (e) { photos = []; } }
    for (var i = 0; i < photos.length; i++) await del("photos", photos[i].id);
    await del("drafts", draft.id);
  }
  async function addDraft(kind, data, photos) {
    var draft = {
      id: randomId("draft-"), created: Date.now(), key: randomId(kind.slice(0, 2) + "-"),
      kind: kind, captured_at: new Date().toISOString(), data: data, photos: photos || [], state: "draft",
    };
    await saveDraft(draft);
    state.drafts.push(draft);
    state.drafts.sort(function (a, b) { return order(a) - order(b) || a.created - b.created; });
    render();
    say(t("saved"));
    if (navigator.onLine) sync(); // with signal, a draft goes at once
  }

  // --- NIK and KK checks that need no server ---------------------------------------------------
  function checkNik(nik) {
    if (!/^\d{16}$/.test(nik)) return { ok: false, text: t("nik-length") };
    var regency = nik.slice(0, 4);
    if (regencies.indexOf(regency) < 0 || (regency === district && kecamatan.indexOf(nik.slice(0, 6)) < 0)) {
      return { ok: false, text: t("nik-region") };
    }
    var day = parseInt(nik.slice(6, 8), 10), month = parseInt(nik.slice(8, 10), 10), yy = parseInt(nik.slice(10, 12), 10);
    var female = day > 40;
    if (female) day -= 40;
    var now = new Date(), year = 2000 + yy > now.getFullYear() ? 1900 + yy : 2000 + yy;
    var born = new Date(year, month - 1, day);
    if (day < 1 || day > 31 || month < 1 || month > 12 || born.getMonth() !== month - 1 || born > now) {
      return { ok: false, text: t("nik-date") };
    }
    if (nik.slice(12) === "0000") return { ok: false, text: t("nik-serial") };
    var date = ("0" + day).slice(-2) + "-" + ("0" + month).slice(-2) + "-" + year;
    return { ok: true, text: t("nik-ok", { sex: t(female ? "female" : "male"), date: date }) };
  }
  function mark(input, result) {
    var note = input.nextElementSibling;
    while (note && !note.classList.contains("field-check")) note = note.nextElementSibling;
    note.textContent = result ? result.text : "";
    note.className = "field-check " + (result ? (result.ok ? "good" : "bad") : "");
    input.setAttribute("aria-invalid", result && !result.ok ? "true" : "false");
    return !result || result.ok;
  }
  function watchNik(input) {
    input.addEventListener("input", function () {
      var v = input.value.replace(/\s/g, "");
      mark(input, v.length ? checkNik(v) : null);
    });
  }

  // --- the forms ------------------------------------------------------------------------------
  var memberCount = 0;
  function addMember() {
    var node = $("member-template").content.firstElementChild.cloneNode(true);
    memberCount++;
    var n = $("hh-members").children.length + 1;
    node.querySelector("legend").textContent = t("member", { n: n });
    node.querySelectorAll("[data-name]").forEach(function (input) {
      var id = "m" + memberCount + "-" + input.dataset.name;
      input.id = id;
      input.name = input.dataset.name;
      node.querySelector('label[data-for="' + input.dataset.name + '"]').htmlFor = id;
    });
    var remove = node.querySelector(".remove-member");
    remove.textContent = t("remove");
    remove.addEventListener("click", function () { node.remove(); renumber(); });
    watchNik(node.querySelector('[data-name="nik"]'));
    $("hh-members").appendChild(node);
    return node;
  }
  function renumber() {
    Array.prototype.forEach.call($("hh-members").children, function (node, i) {
      node.querySelector("legend").textContent = t("member", { n: i + 1 });
    });
  }
  function openForm(id) {
    ["household-form", "intake-form", "follow-up-form"].forEach(function (f) { $(f).hidden = f !== id; });
    if (id === "household-form" && !$("hh-members").children.length) addMember();
    var first = $(id).querySelector("input, select, textarea");
    if (first) first.focus();
  }

  async function submitHousehold(event) {
    event.preventDefault();
    var form = $("household-form");
    var kk = $("hh-kk").value.replace(/\s/g, "");
    var ok = mark($("hh-kk"), /^\d{16}$/.test(kk) ? null : { ok: false, text: t("kk-length") });
    var members = [];
    form.querySelectorAll("fieldset.member").forEach(function (node) {
      var nik = node.querySelector('[name="nik"]'), name = node.querySelector('[name="name"]');
      var checked = checkNik(nik.value.replace(/\s/g, ""));
      ok = mark(nik, checked) && ok;
      if (!name.value.trim()) { ok = false; name.setAttribute("aria-invalid", "true"); }
      members.push({ nik: nik.value.replace(/\s/g, ""), name: name.value.trim(), relation: node.querySelector('[name="relation"]').value });
    });
    show("household-error", !members.length ? t("no-member") : ok ? "" : t("required"));
    if (!ok || !members.length) return;
    var village = $("hh-village-other").value.trim() || $("hh-village").value;
    var data = { kk_number: kk, village_code: village, members: members };
    if ($("hh-address").value.trim()) data.address = $("hh-address").value.trim();
    if (!(await replaceDraft("household-form", data))) await addDraft("household", data);
    form.reset();
    $("hh-members").textContent = "";
    addMember();
    refreshNikList();
  }

  async function submitIntake(event) {
    event.preventDefault();
    var nik = $("in-nik").value.replace(/\s/g, "");
    var ok = mark($("in-nik"), checkNik(nik));
    var description = $("in-description").value.trim();
    if (!description) { ok = false; $("in-description").setAttribute("aria-invalid", "true"); }
    show("intake-error", ok ? "" : t("required"));
    if (!ok) return;
    var photos = [];
    var files = $("in-photo").files;
    for (var i = 0; i < files.length; i++) {
      var bytes = await files[i].arrayBuffer();
      var id = randomId("photo-");
      await put("photos", { id: id, sealed: await seal(bytes) });
      photos.push({ id: id, kind: $("in-photo-kind").value, name: files[i].name.slice(-200), size: bytes.byteLength });
    }
    var data = { nik: nik, kind: $("in-kind").value, channel: "outreach", description: description };
    if (!(await replaceDraft("intake-form", data, photos))) await addDraft("intake", data, photos);
    $("intake-form").reset();
    mark($("in-nik"), null);
  }

  async function submitFollowUp(event) {
    event.preventDefault();
    var note = $("fu-note").value.trim(), caseId = $("fu-case").value;
    show("follow-up-error", note && caseId ? "" : t("required"));
    if (!note || !caseId) return;
    var chosen = $("fu-case").selectedOptions[0];
    await addDraft("follow_up", { case_id: caseId, note: note, ticket: chosen ? chosen.dataset.ticket : "" });
    $("follow-up-form").reset();
  }

  function refreshNikList() {
    var list = $("in-nik-list");
    list.textContent = "";
    state.drafts.forEach(function (d) {
      if (d.kind !== "household") return;
      (d.data.members || []).forEach(function (m) {
        var option = document.createElement("option");
        option.value = m.nik;
        option.label = m.name;
        list.appendChild(option);
      });
    });
  }
  function refreshCases() {
    var select = $("fu-case");
    select.textContent = "";
    ((state.reference && state.reference.follow_ups) || []).forEach(function (c) {
      var option = document.createElement("option");
      option.value = c.id;
      option.dataset.ticket = c.ticket_number;
      option.textContent = c.ticket_number + (c.person ? " · " + c.person : "");
      select.appendChild(option);
    });
  }

  // A refused or invalid draft is corrected in its form and keeps its key (nothing of it was
  // applied), so the server still sees it once.
  function edit(draft) {
    openForm(draft.kind === "household" ? "household-form" : "intake-form");
    var form = $(draft.kind === "household" ? "household-form" : "intake-form");
    form.dataset.editing = draft.id;
    if (draft.kind === "household") {
      $("hh-kk").value = draft.data.kk_number || "";
      $("hh-address").value = draft.data.address || "";
      var known = Array.prototype.some.call($("hh-village").options, function (o) { return o.value && o.value === draft.data.village_code; });
      $("hh-village").value = known ? draft.data.village_code : "";
      $("hh-village-other").value = known ? "" : draft.data.village_code || "";
      $("hh-members").textContent = "";
      (draft.data.members || []).forEach(function (m) {
        var node = addMember();
        node.querySelector('[name="nik"]').value = m.nik;
        node.querySelector('[name="name"]').value = m.name;
        node.querySelector('[name="relation"]').value = m.relation || "lainnya";
      });
    } else {
      $("in-nik").value = draft.data.nik || "";
      $("in-kind").value = draft.data.kind;
      $("in-description").value = draft.data.description || "";
    }
  }
  async function replaceDraft(formId, data, photos) {
    var id = $(formId).dataset.editing;
    delete $(formId).dataset.editing;
    var draft = state.drafts.filter(function (d) { return d.id === id; })[0];
    if (!draft) return false;
    draft.data = data;
    draft.photos = draft.photos.concat(photos || []);
    draft.state = "draft";
    draft.outcome = null;
    await saveDraft(draft);
    render();
    say(t("saved"));
    if (navigator.onLine) sync();
    return true;
  }

  // --- the outbox -----------------------------------------------------------------------------
  function title(d) {
    if (d.kind === "household") {
      var text = d.data.kk_number ? t("household", { kk: d.data.kk_number }) : t("household", { kk: "" });
      return text + " · " + t("members", { n: (d.data.members || []).length });
    }
    if (d.kind === "intake") {
      return t("intake", { nik: d.data.nik }) + (d.photos.length ? " · " + t("photos", { n: d.photos.length }) : "");
    }
    return t("follow-up", { ticket: d.data.ticket || "" });
  }
  var BADGE = { draft: "", sending: "", conflict: "warn", refused: "danger", invalid: "danger", retry: "warn" };
  function render() {
    var list = $("outbox-list");
    list.textContent = "";
    var soon = 0;
    state.drafts.forEach(function (d) {
      var li = document.createElement("li");
      li.dataset.id = d.id;
      var head = document.createElement("p");
      var strong = document.createElement("strong");
      strong.textContent = title(d);
      var badge = document.createElement("span");
      badge.className = "badge " + (BADGE[d.state] || "");
      badge.textContent = t("state-" + d.state);
      head.appendChild(strong);
      head.appendChild(document.createTextNode(" "));
      head.appendChild(badge);
      li.appendChild(head);
      if (d.outcome && d.outcome.detail) {
        var why = document.createElement("p");
        why.className = d.state === "conflict" ? "" : "field-error";
        var fields = d.state === "invalid" ? d.outcome.errors || [] : [];
        why.textContent = d.outcome.detail + fields.map(function (e) { return " " + e.field + ": " + e.message; }).join(";");
        li.appendChild(why);
      }
      var row = document.createElement("div");
      row.className = "actions-row";
      var choices = d.state === "conflict" ? d.outcome.choices : d.state === "refused" || d.state === "invalid" ? ["discard"] : [];
      choices.forEach(function (choice) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = choice === "discard" ? "secondary" : "";
        button.textContent = t(choice.replace(/_/g, "-"));
        button.addEventListener("click", function () { choose(d, choice); });
        row.appendChild(button);
      });
      if ((d.state === "refused" || d.state === "invalid") && d.kind !== "follow_up") {
        var fix = document.createElement("button");
        fix.type = "button";
        fix.textContent = t("edit");
        fix.addEventListener("click", function () { edit(d); });
        row.insertBefore(fix, row.firstChild);
      }
      if (row.children.length) li.appendChild(row);
      if (d.created < Date.now() - (draftDays - 2) * DAY) soon++;
      list.appendChild(li);
    });
    $("outbox-count").textContent = state.drafts.length ? t("pending", { n: state.drafts.length }) : t("empty");
    show("field-warning", soon ? t("expiring", { n: soon }) : "");
  }
  async function choose(draft, choice) {
    var facts = (draft.outcome && draft.outcome.facts) || {};
    if (choice === "discard") {
      await dropDraft(draft);
      state.drafts = state.drafts.filter(function (d) { return d !== draft; });
      render();
      return;
    }
    if (choice === "use_existing") draft.data.members[facts.member].existing_person_id = facts.existing_person_id;
    if (choice === "add_to_existing") {
      draft.data.household_id = facts.household_id;
      draft.data.seen = facts.version;
      delete draft.data.village_code;
      delete draft.data.address;
    }
    if (choice === "apply_anyway") draft.data.apply_anyway = true;
    draft.state = "draft";
    draft.outcome = null;
    await saveDraft(draft);
    render();
    sync();
  }
  function say(text) { show("field-message", text); }

  // --- sync -----------------------------------------------------------------------------------
  async function sendPhoto(photo) {
    var stored = await get("photos", photo.id);
    var bytes = await open(stored.sealed, true);
    var digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    var hex = Array.prototype.map.call(digest, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    var upload = await json("uploads", { key: photo.id, size: bytes.byteLength, sha256: hex });
    while (!upload.complete) {
      upload = await call("uploads/" + upload.id + "/pieces?offset=" + upload.received, {
        method: "POST",
        body: bytes.slice(upload.received, upload.received + PIECE),
        headers: { "Content-Type": "application/octet-stream" },
      });
    }
  }
  function ready(d) { return d.state === "draft" || d.state === "retry" || d.state === "sending"; }
  async function syncOnce() {
    var batch = state.drafts.filter(ready);
    if (!batch.length || !state.key) return;
    if (!state.csrf && !(await unlock())) return;
    batch.forEach(function (d) { d.state = "sending"; });
    render();
    var sent = 0;
    try {
      var items = [];
      for (var i = 0; i < batch.length; i++) {
        var d = batch[i];
        for (var j = 0; j < d.photos.length; j++) await sendPhoto(d.photos[j]);
        var data = Object.assign({}, d.data);
        delete data.ticket;
        if (d.kind === "intake") {
          data.photos = d.photos.map(function (p) { return { upload_key: p.id, kind: p.kind, filename: p.name }; });
        }
        items.push({ key: d.key, kind: d.kind, captured_at: d.captured_at, data: data });
      }
      var answer = await json("sync", { items: items });
      for (var k = 0; k < answer.items.length; k++) {
        var outcome = answer.items[k];
        var draft = batch.filter(function (x) { return x.key === outcome.key; })[0];
        if (!draft) continue;
        if (outcome.status === "applied") {
          await dropDraft(draft);
          state.drafts = state.drafts.filter(function (x) { return x !== draft; });
          sent++;
        } else {
          draft.state = outcome.status;
          draft.outcome = outcome;
          await saveDraft(draft);
        }
      }
    } catch (e) {
      // The connection dropped (or the session ended): everything not answered stays, and
      // goes again with the same keys.
      batch.forEach(function (d) { if (d.state === "sending") d.state = "retry"; });
    }
    render();
    if (sent) say(t("synced", { n: sent }));
  }
  function sync() {
    if (state.syncing) {
      state.again = true; // a draft saved meanwhile goes right after this round
      return state.syncing;
    }
    var run = navigator.locks
      ? function () { return navigator.locks.request("slrt-field-sync", syncOnce); }
      : syncOnce;
    state.syncing = run().finally(function () {
      state.syncing = null;
      if (state.again) { state.again = false; sync(); }
    });
    return state.syncing;
  }

  // --- reference data -------------------------------------------------------------------------
  async function loadReference() {
    try {
      var fresh = await call("reference");
      state.reference = fresh;
      await put("meta", await seal(fresh), "reference");
    } catch (e) {
      var kept = await get("meta", "reference");
      if (kept) { try { state.reference = await open(kept); } catch (err) { state.reference = null; } }
    }
    refreshCases();
  }

  // --- network status, sign-out ---------------------------------------------------------------
  function network() {
    var online = navigator.onLine;
    var el = $("field-network");
    el.textContent = online ? t("online") : t("offline");
    el.className = "badge " + (online ? "ok" : "warn");
  }
  document.querySelectorAll("form.signout").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (state.drafts.length && !window.confirm(t("signout", { n: state.drafts.length }))) return;
      // The server also answers sign-out with Clear-Site-Data; this covers a browser without it.
      indexedDB.deleteDatabase("slrt-field");
      form.submit();
    });
  });

  async function start() {
    state.db = await openDb();
    document.querySelectorAll("[data-open]").forEach(function (b) {
      b.addEventListener("click", function () { openForm(b.dataset.open); });
    });
    $("add-member").addEventListener("click", addMember);
    $("household-form").addEventListener("submit", submitHousehold);
    $("intake-form").addEventListener("submit", submitIntake);
    $("follow-up-form").addEventListener("submit", submitFollowUp);
    $("sync-now").addEventListener("click", sync);
    watchNik($("in-nik"));
    window.addEventListener("online", function () { network(); sync(); });
    window.addEventListener("offline", network);
    network();
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register(root.dataset.sw, { scope: base }).catch(function () {});
    }
    if (!(await unlock())) {
      show("field-locked", t("locked"));
      document.querySelectorAll("#field-app form, #sync-now, [data-open]").forEach(function (el) { el.hidden = true; });
      return;
    }
    await loadDrafts();
    refreshNikList();
    render();
    await loadReference();
    root.dataset.ready = "1";
    if (navigator.onLine) sync();
  }
  start();
})();
