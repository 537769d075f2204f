"use strict";
// The playground: the program is derived on every edit (debounced) by POST /api/derive, and
// the answer (docs/json.md) shown: MathML results, the cited steps (a rule's statement on
// hover), the LaTeX and the module.  The whole state lives in the URL fragment.
const $ = (id) => document.getElementById(id);
let rules = {};
let timer = null;
let latest = 0;
let backend = "numpy";

function selectBackend(name) {
  backend = name;
  for (const tab of document.querySelectorAll("#backends [role=tab]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.backend === name));
  }
}

function state() {
  return { source: $("source").value, hvp: $("hvp").checked, hessian: $("hessian").checked,
           jacobian: $("jacobian").checked, elementwise: $("elementwise").checked, backend };
}

function restore() {
  if (location.hash.length < 2) return false;
  try {
    const saved = JSON.parse(decodeURIComponent(location.hash.slice(1)));
    $("source").value = saved.source || "";
    $("hvp").checked = Boolean(saved.hvp);
    $("hessian").checked = Boolean(saved.hessian);
    $("jacobian").checked = Boolean(saved.jacobian);
    $("elementwise").checked = Boolean(saved.elementwise);
    if (saved.backend) selectBackend(saved.backend);
    return true;
  } catch (error) {
    return false;
  }
}

function ask(current, extra) {
  return fetch("/api/derive", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ source: current.source, hvp: current.hvp,
                           hessian: current.hessian && !current.hvp,
                           jacobian: current.jacobian,
                           symmetric: current.elementwise ? "elementwise" : "frobenius",
                           backends: [current.backend], ...extra }),
  }).then((response) => response.json());
}

async function derive(check) {
  const current = state();
  history.replaceState(null, "", "#" + encodeURIComponent(JSON.stringify(current)));
  const request = ++latest;
  const found = await ask(current, { check: Boolean(check) });
  if (request === latest) show(found, current.source);
}

async function pdf() {
  const current = state();
  const found = await ask(current, { pdf: true, backends: [] });
  if (found.error) {
    showError(found.error, current.source);
    return;
  }
  const bytes = Uint8Array.from(atob(found.pdf), (c) => c.charCodeAt(0));
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([bytes], { type: "application/pdf" }));
  link.download = "derivation.pdf";
  link.click();
}

function showError(error, source) {
  $("error").hidden = false;
  $("error-message").textContent = error.message.split("\n")[0];
  const where = $("error-line");
  where.textContent = "";
  if (error.line) {
    const text = source.split("\n")[error.line - 1] || "";
    const at = Math.max(0, error.column - 1);
    where.append(text.slice(0, at));
    const mark = document.createElement("mark");
    mark.textContent = text.slice(at, at + 1) || " ";
    where.append(mark, text.slice(at + 1));
  }
}

function show(found, source) {
  for (const id of ["results", "where", "steps", "steps-text", "latex", "module"]) {
    $(id).textContent = "";
  }
  $("check-report").hidden = true;
  $("hessian-text").hidden = true;
  $("jacobian-text").hidden = true;
  if (found.error) {
    showError(found.error, source);
    return;
  }
  $("error").hidden = true;
  $("results").innerHTML = found.results.map((item) => item.mathml).join("");
  $("where").innerHTML = found.definitions.map((item) => item.mathml).join("");
  for (const step of found.steps) {
    const item = document.createElement("li");
    const rule = document.createElement("span");
    rule.className = "rule";
    rule.textContent = step.rule;
    rule.title = rules[step.rule] ? rules[step.rule].statement : "";
    item.append(rule, " by " + step.cites.map((cite) => "(" + cite + ")").join(", ")
                + " at " + step.node);
    $("steps").append(item);
  }
  $("steps-text").textContent = found.steps_text;
  $("latex").textContent = found.latex;
  const modules = found.modules || {};
  $("module").textContent = Object.values(modules)[0] || "";
  if (found.kind === "jacobian") {  // dF and the blocks; the results are the VJP's
    $("jacobian-text").hidden = false;
    $("jacobian-text").textContent = found.text;
  }
  if (found.hessian) {
    $("hessian-text").hidden = false;
    $("hessian-text").textContent = found.hessian.text;
  }
  if (found.check) {
    $("check-report").hidden = false;
    $("check-report").textContent = found.check.text;
  }
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(() => derive(false), 300);
}

async function start() {
  rules = await (await fetch("/api/rules")).json();
  const examples = await (await fetch("/api/examples")).json();
  for (const name of Object.keys(examples)) {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = name;
    $("examples").append(option);
  }
  $("examples").addEventListener("change", () => {
    if (examples[$("examples").value]) {
      $("source").value = examples[$("examples").value];
      derive(false);
    }
  });
  $("source").addEventListener("input", schedule);
  $("hvp").addEventListener("change", () => derive(false));
  $("hessian").addEventListener("change", () => derive(false));
  $("jacobian").addEventListener("change", () => derive(false));
  $("elementwise").addEventListener("change", () => derive(false));
  $("pdf").addEventListener("click", pdf);
  for (const tab of document.querySelectorAll("#backends [role=tab]")) {
    tab.addEventListener("click", () => {
      selectBackend(tab.dataset.backend);
      derive(false);
    });
  }
  $("check").addEventListener("click", () => derive(true));
  for (const button of document.querySelectorAll("button.copy")) {
    button.addEventListener("click", () => {
      navigator.clipboard.writeText($(button.dataset.copy).textContent);
    });
  }
  if (!restore()) $("source").value = Object.values(examples)[0];
  derive(false);
}

document.addEventListener("DOMContentLoaded", start);
