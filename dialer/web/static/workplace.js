// The operator's workplace. Without this file every form still posts and the page comes back; with
// it the page follows the server-sent stream (/work/events): the state bar's values, and the call
// panel drawn by the server the moment the call is bridged (also in a background tab). Forms are
// posted with fetch; what the operator types is kept as a draft on the server every few seconds.
"use strict";
(() => {
  const root = document.getElementById("work");
  if (!root) return;
  const w = (name) => root.querySelector(`[data-w="${name}"]`);
  let stateSince = Date.now() - 1000 * Number(w("state-timer")?.getAttribute("data-seconds") || 0);
  let wrapEndsAt = null;
  let dirty = false;
  let saving = null;
  const baseTitle = document.title;
  window.cardLatencies = [];

  // -- tabs ------------------------------------------------------------------------------------
  const tabs = [...root.querySelectorAll("[data-tab]")];
  function show(name) {
    for (const tab of tabs) {
      const on = tab.getAttribute("data-tab") === name;
      if (on) tab.setAttribute("aria-current", "page"); else tab.removeAttribute("aria-current");
      root.querySelector(`[data-panel="${tab.getAttribute("data-tab")}"]`).hidden = !on;
    }
    if (name === "portal") checkPortal();
  }
  for (const tab of tabs) {
    tab.addEventListener("click", (event) => { event.preventDefault(); show(tab.getAttribute("data-tab")); });
  }

  // -- timers (the server sends the state's age once; the page counts) ----------------------------
  const clock = (seconds) => {
    const s = Math.max(0, Math.floor(seconds));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  };
  setInterval(() => {
    const timer = w("state-timer");
    if (timer) timer.textContent = clock((Date.now() - stateSince) / 1000);
    const wrap = root.querySelector('[data-w="wrap-left"]');
    if (wrap && wrapEndsAt !== null) {
      const left = (wrapEndsAt - Date.now()) / 1000;
      wrap.textContent = left >= 0 ? `${wrap.getAttribute("data-label") || ""} ${clock(left)}`
        : `${wrap.getAttribute("data-over") || ""} ${clock(-left)}`;
      wrap.classList.toggle("over", left < 0);
    }
  }, 1000);

  // -- the stream --------------------------------------------------------------------------------
  let portal = null;
  let lead = null;
  function apply(data) {
    const chip = w("state-chip");
    if (chip) { chip.textContent = data.state_label; chip.className = `chip ${data.state}`; }
    root.setAttribute("data-state", data.state);
    stateSince = Date.now() - 1000 * data.seconds_in_state;
    wrapEndsAt = data.wrap_up_left === null ? null : Date.now() + 1000 * data.wrap_up_left;
    w("pause-reason").textContent = data.pause_reason || "";
    w("calls-today").textContent = data.calls_today;
    w("successes-today").textContent = data.successes_today;
    const phone = w("phone");
    phone.textContent = data.phone.label;
    phone.className = `chip ${data.phone.ok ? "up" : data.phone.registered ? "paused" : "down"}`;
    if ("call_html" in data) {
      const holder = document.getElementById("call-panel");
      const current = tabs.find((tab) => tab.getAttribute("aria-current") === "page");
      const away = current && !["call", "portal"].includes(current.getAttribute("data-tab"));
      if (data.call_html && away && data.call_key !== holder.getAttribute("data-key")) show("call"); // a new call: its card
      holder.innerHTML = data.call_html || `<p class="waiting">${holder.getAttribute("data-waiting") || ""}</p>`;
      holder.setAttribute("data-key", data.call_key || "");
      dirty = false;
      prepare(holder);
      if (data.bridged_at) {
        const took = Math.round(Date.now() - data.bridged_at);
        window.cardLatencies.push(took);
        root.setAttribute("data-card-latency", String(took));
      }
      portal = data.portal; lead = data.lead;
      setPortal();
      tellPortal();  // the frame may have loaded before the stream said whose call it is
      document.title = data.title ? `● ${data.title} · ${baseTitle}` : baseTitle;
      if (data.call_key && document.hidden) show("call");
    }
    for (const m of data.messages || []) {
      const item = root.querySelector(`[data-message="${m.id}"] .chip`);
      if (item) { item.textContent = m.label; item.className = `chip ${m.status}`; }
    }
  }
  function connect() {
    const source = new EventSource(root.getAttribute("data-stream"));
    const note = w("connection");
    source.addEventListener("screen", (event) => {
      note.hidden = true;
      apply(JSON.parse(event.data));
    });
    source.addEventListener("error", () => { note.textContent = note.getAttribute("data-lost"); note.hidden = false; });
  }

  // -- the portal ----------------------------------------------------------------------------------
  let checked = null;
  function setPortal() {
    const holder = document.getElementById("portal-holder");
    if (!portal) return;
    holder.setAttribute("data-portal", portal.url);
    holder.setAttribute("data-origin", portal.origin);
    const frame = holder.querySelector("iframe");
    const link = holder.querySelector("a");
    if (frame && frame.getAttribute("src") !== portal.url) frame.setAttribute("src", portal.url);
    if (link) link.href = portal.url;
    checked = null;
  }
  function tellPortal() {
    const holder = document.getElementById("portal-holder");
    const frame = holder.querySelector("iframe");
    const origin = holder.getAttribute("data-origin");
    if (frame && frame.contentWindow && origin && lead) {
      frame.contentWindow.postMessage({ type: "dialer.lead", lead }, origin);
    }
  }
  async function checkPortal() {
    const holder = document.getElementById("portal-holder");
    if (!holder.getAttribute("data-portal") || checked === holder.getAttribute("data-portal")) return;
    checked = holder.getAttribute("data-portal");
    const note = holder.querySelector('[data-w="portal-note"]');
    try {
      const answer = await (await fetch("/work/portal-check", { headers: { Accept: "application/json" } })).json();
      const frame = holder.querySelector("iframe");
      if (answer.framable === false && frame) {
        frame.hidden = true;
        note.textContent = `${holder.getAttribute("data-refused") || ""} ${answer.reason}`;
      } else if (frame) {
        frame.hidden = false;
        note.textContent = "";
      }
    } catch (error) { /* the frame stays; the link is there */ }
  }
  const frame = document.querySelector("#portal-holder iframe");
  if (frame) frame.addEventListener("load", tellPortal);

  // -- forms ---------------------------------------------------------------------------------------
  async function post(form, submitter) {
    const body = new FormData(form);
    if (submitter && submitter.name) body.append(submitter.name, submitter.value);
    const response = await fetch(form.getAttribute("action"), {
      method: "POST", body, headers: { Accept: "application/json" },
    });
    let answer = {};
    try { answer = await response.json(); } catch (error) { answer = { ok: false, problems: { "": response.statusText } }; }
    const problem = w("problem");
    problem.hidden = true;
    if (answer.call_html) {
      const holder = document.getElementById("call-panel");
      holder.innerHTML = answer.call_html;
      prepare(holder);
      const bad = holder.querySelector(".bad input, .bad select, .bad textarea, [aria-invalid=true]");
      if (bad) bad.focus();
    }
    if (answer.ok && form.hasAttribute("data-toggles") && submitter) {  // hold <-> resume, mute <-> unmute
      for (const button of form.querySelectorAll(`[data-toggle="${submitter.getAttribute("data-toggle")}"]`)) {
        button.hidden = button === submitter;
      }
    }
    if (!answer.ok && answer.problems && answer.problems[""]) {
      problem.textContent = answer.problems[""];
      problem.hidden = false;
    }
    return answer;
  }
  async function saveDraft(form) {
    if (!form || !dirty) return;
    dirty = false;
    const body = new FormData(form);
    const state = root.querySelector('[data-w="draft-state"]');
    try {
      const response = await fetch(form.getAttribute("data-draft"), { method: "POST", body, headers: { Accept: "application/json" } });
      if (response.ok && state) state.textContent = `${state.getAttribute("data-saved") || "✓"} ${new Date().toLocaleTimeString()}`;
      if (!response.ok) dirty = true;
    } catch (error) { dirty = true; }
  }
  root.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.hasAttribute("data-work")) return;
    event.preventDefault();
    const button = event.submitter;
    if (button) button.disabled = true;  // one click is one request
    try {
      if (form.hasAttribute("data-script")) await saveDraft(document.getElementById("outcome-form"));
      await post(form, button);
    } finally {
      if (button && button.isConnected) button.disabled = false;
    }
  });
  function prepare(holder) {
    for (const button of holder.querySelectorAll("[data-js-hidden]")) button.hidden = true;
    const form = holder.querySelector("#outcome-form");
    const wrap = holder.querySelector('[data-w="wrap-left"]');
    if (wrap) {
      wrap.setAttribute("data-label", wrap.textContent.trim());
      wrap.setAttribute("data-over", root.getAttribute("data-over") || "");
    }
    if (!form) return;
    const follow = () => {
      const chosen = form.querySelector('input[name="disposition"]:checked');
      const effect = chosen ? chosen.getAttribute("data-effect") : "";
      for (const box of form.querySelectorAll("[data-for-outcome]")) {
        const on = chosen && box.getAttribute("data-for-outcome") === chosen.value;
        box.hidden = !on;
        box.querySelector("select").disabled = !on;
      }
      for (const box of form.querySelectorAll("[data-for-effect]")) box.hidden = box.getAttribute("data-for-effect") !== effect;
    };
    follow();
    form.addEventListener("change", follow);
    form.addEventListener("input", () => { dirty = true; clearTimeout(saving); saving = setTimeout(() => saveDraft(form), 1500); });
    form.addEventListener("change", () => { dirty = true; clearTimeout(saving); saving = setTimeout(() => saveDraft(form), 300); });
  }
  setInterval(() => saveDraft(document.getElementById("outcome-form")), 5000);
  window.addEventListener("pagehide", () => {
    const form = document.getElementById("outcome-form");
    if (form && dirty) navigator.sendBeacon(form.getAttribute("data-draft"), new FormData(form));
  });

  // -- shortcuts: Alt + a key, by its place on the keyboard (the Russian layout too) ----------------
  document.addEventListener("keydown", (event) => {
    if (!event.altKey || event.ctrlKey || event.metaKey) return;
    let target = null;
    if (/^Digit[1-9]$/.test(event.code)) {
      target = root.querySelectorAll("[data-answer]")[Number(event.code.slice(5)) - 1];
    } else if (event.code === "KeyK") {
      const portalOpen = !root.querySelector('[data-panel="portal"]').hidden;
      show(portalOpen ? "call" : "portal");
      event.preventDefault();
      return;
    } else {
      target = root.querySelector(`[data-key="${event.code}"]`);
    }
    if (target) {
      event.preventDefault();
      target.click();
    }
  });

  prepare(document.getElementById("call-panel"));
  if (location.hash) show(location.hash.slice(1));
  connect();
})();
