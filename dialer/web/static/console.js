// The console's progressive enhancement: every page works without it.
// - selects marked data-autosubmit submit their form when changed (the button stays for no-JS);
// - buttons marked data-confirm ask first;
// - elements inside [data-live] are filled from the server-sent events of its URL: each event is a
//   JSON object whose keys name elements by data-field (data-chip-from names the key whose value is
//   the element's chip class); a list under data-rows renders as table rows from its <template>.
"use strict";
document.documentElement.classList.add("js");

document.addEventListener("change", (event) => {
  const target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
    target.form.requestSubmit();
  }
});

document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const question = button && button.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

function fill(root, data) {
  for (const [key, value] of Object.entries(data)) {
    if (Array.isArray(value)) {
      for (const body of root.querySelectorAll(`[data-rows="${key}"]`)) {
        const template = body.querySelector("template");
        body.querySelectorAll(":scope > :not(template):not(.empty)").forEach((row) => row.remove());
        const empty = body.querySelector(":scope > .empty");
        if (empty) empty.hidden = value.length > 0;
        for (const item of value) {
          const row = template.content.firstElementChild.cloneNode(true);
          for (const cell of row.querySelectorAll("[data-field]")) {
            const field = cell.getAttribute("data-field");
            cell.textContent = item[field] ?? "";
            const chip = cell.getAttribute("data-chip-from");
            if (chip) cell.className = "chip " + (item[chip] ?? "");
          }
          body.appendChild(row);
        }
      }
      continue;
    }
    for (const element of root.querySelectorAll(`[data-field="${key}"]`)) {
      element.textContent = value ?? "—";
      const chip = element.getAttribute("data-chip-from");
      if (chip) element.className = "chip " + (data[chip] ?? "");
    }
  }
}

for (const root of document.querySelectorAll("[data-live]")) {
  const source = new EventSource(root.getAttribute("data-live"));
  const status = root.querySelector("[data-connection]");
  source.addEventListener("message", (event) => {
    fill(root, JSON.parse(event.data));
    if (status) status.textContent = status.getAttribute("data-live-text");
  });
  source.addEventListener("error", () => {
    if (status) status.textContent = status.getAttribute("data-lost-text");
  });
}

// The script editor: the diagram and the problems follow the form as it is typed (the server checks it).
const scriptForm = document.getElementById("script-form");
if (scriptForm) {
  let timer = null;
  const redraw = async () => {
    const body = new FormData(scriptForm);
    const response = await fetch(scriptForm.getAttribute("data-check"), { method: "POST", body });
    if (response.ok) {
      const holder = document.getElementById("script-check");
      if (holder) holder.outerHTML = await response.text();
    }
  };
  scriptForm.addEventListener("change", (event) => {
    const select = event.target;
    if (select instanceof HTMLSelectElement && select.hasAttribute("data-step-kind")) {
      select.closest("fieldset").setAttribute("data-kind", select.value);
    }
  });
  scriptForm.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(redraw, 400);
  });
}
