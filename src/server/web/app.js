// The stance web page: sends the text to POST /v1/score (same origin, the
// only network call besides GET /v1/model) and shows the answer: the
// document's scores, each paragraph shaded by stance with a text badge, and,
// for a selected paragraph, the terms that drove it highlighted in its text.
//
// Offsets: paragraphs carry start_utf16/end_utf16 (JavaScript string
// indices), but explanation terms carry start/end in Unicode scalar values
// (code points). utf16Offsets() maps one to the other; the two differ after
// any character outside the Basic Multilingual Plane (e.g. an emoji).
"use strict";

const KEY_STORAGE = "stance.apiKey";
const LABELS = ["pro", "anti", "neutral"];
const $ = (id) => document.getElementById(id);

const state = { key: "", maxExplain: 50, doc: "", result: null };

// For each scalar-value offset i of `text` (0..=number of code points), the
// UTF-16 offset where that code point starts: map[i].
function utf16Offsets(text) {
  const map = [0];
  let u = 0;
  for (const ch of text) {
    u += ch.length;
    map.push(u);
  }
  return map;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

const fmt = (p) => p.toFixed(2);
const signed = (x) => (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(2);

function badge(label, p) {
  return el("span", { class: `badge ${label}` }, `${label} ${fmt(p)}`);
}

function lowBadge() {
  return el("span", { class: "badge low", title: "the two most probable labels are close: review rather than trust" },
    "low confidence");
}

function probBar(probs) {
  const bar = el("div", { class: "bar", "aria-hidden": "true" });
  for (const l of LABELS) {
    const seg = el("span", { class: l });
    seg.style.width = `${(probs[l] * 100).toFixed(1)}%`; // CSSOM: allowed by the CSP
    bar.append(seg);
  }
  return bar;
}

function probText(probs) {
  return el("div", { class: "probs" }, LABELS.map((l) => `${l} ${fmt(probs[l])}`).join(" · "));
}

// ---- messages -------------------------------------------------------------

function setStatus(text) {
  $("status").textContent = text;
}

function showError(text) {
  const box = $("error");
  box.textContent = text;
  box.hidden = !text;
}

async function errorMessage(res) {
  let server = "";
  try {
    const body = await res.json();
    server = body.error && body.error.message ? body.error.message : "";
  } catch (_) { /* not JSON: keep the status alone */ }
  const retry = res.headers.get("Retry-After");
  const wait = retry ? ` Retry in ${retry} s.` : "";
  switch (res.status) {
    case 401:
      showKeyBox(true);
      return state.key
        ? "The API key was not accepted (401). Check it and press Score again."
        : "This service requires an API key (401): enter it above and press Score again.";
    case 403:
      showKeyBox(true);
      return `This API key may not score texts (403). ${server}`;
    case 413:
      return `The text is too large for this service (413): ${server}`;
    case 422:
      return `The service refused the text (422): ${server}`;
    case 429:
      return `Too many requests for this API key (429).${wait} ${server}`;
    case 503:
      return `The service is busy (503): every scoring slot is taken.${wait}`;
    case 504:
      return `Scoring took too long (504): try a shorter text. ${server}`;
    default:
      return `The service answered ${res.status}. ${server}`;
  }
}

// ---- API key --------------------------------------------------------------

function showKeyBox(focus) {
  $("key-box").hidden = false;
  if (focus) $("key").focus();
}

function readKey() {
  state.key = $("key").value.trim();
  if ($("remember-key").checked && state.key) sessionStorage.setItem(KEY_STORAGE, state.key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

// ---- model ----------------------------------------------------------------

async function loadModel() {
  try {
    const res = await fetch("/v1/model", { headers: { Accept: "application/json" } });
    if (!res.ok) throw new Error(`status ${res.status}`);
    const m = await res.json();
    state.maxExplain = m.limits.max_explain;
    const explain = $("explain");
    explain.max = String(state.maxExplain);
    explain.value = String(Math.min(Number(explain.value), state.maxExplain));
    showModel(m.id, m.version, m.checksum);
  } catch (e) {
    $("model").textContent = `Model: unknown (GET /v1/model failed: ${e.message})`;
  }
}

function showModel(id, version, checksum) {
  $("model").textContent = `Model: ${id} (version ${version}), checksum ${checksum}`;
}

// ---- scoring --------------------------------------------------------------

async function score(event) {
  event.preventDefault();
  readKey();
  const text = $("text").value;
  if (!text.trim()) {
    showError("Paste or drop some text first.");
    $("text").focus();
    return;
  }
  const explain = Math.max(0, Math.min(state.maxExplain, Math.floor(Number($("explain").value) || 0)));
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  if (state.key) headers.Authorization = `Bearer ${state.key}`;
  showError("");
  setStatus("Scoring…");
  $("score").disabled = true;
  try {
    const res = await fetch("/v1/score", { method: "POST", headers, body: JSON.stringify({ text, explain }) });
    if (!res.ok) {
      const msg = await errorMessage(res);
      setStatus("");
      showError(msg);
      return;
    }
    state.doc = text;
    state.result = await res.json();
    render(state.result);
  } catch (e) {
    setStatus("");
    showError(`Cannot reach the service: ${e.message}`);
  } finally {
    $("score").disabled = false;
  }
}

function render(r) {
  showModel(r.model, r.version, r.checksum);
  const summary = $("summary");
  const needle = el("div", { class: "needle" });
  needle.style.left = `calc(${((r.stance_index + 1) * 50).toFixed(1)}% - 0.1rem)`;
  summary.replaceChildren(el("div", { class: "summary" },
    el("div", {}, badge(r.label, r.probabilities[r.label]), ...(r.low_confidence ? [lowBadge()] : []),
      `${r.paragraphs.length} paragraph${r.paragraphs.length === 1 ? "" : "s"}`),
    probBar(r.probabilities),
    probText(r.probabilities),
    el("div", { class: "probs" }, `stance index ${signed(r.stance_index)} (−1 anti … +1 pro)`),
    el("div", { class: "index-scale", role: "img", "aria-label": `stance index ${signed(r.stance_index)}` }, needle),
    el("div", { class: "probs" }, `scored by ${r.model}, ${r.checksum}`)));

  const list = $("paragraphs");
  list.replaceChildren(...r.paragraphs.map((p, i) => {
    const cls = `para ${p.label}${p.low_confidence ? " low-confidence" : ""}`;
    const div = el("div", { class: cls, tabindex: "0", role: "button", "aria-expanded": "false",
      "aria-controls": `explain-${i}`, "data-index": String(i) },
      el("div", {}, badge(p.label, p.probabilities[p.label]), ...(p.low_confidence ? [lowBadge()] : [])),
      probBar(p.probabilities),
      probText(p.probabilities),
      el("p", { class: "para-text" }, state.doc.slice(p.start_utf16, p.end_utf16)));
    return el("li", {}, div);
  }));
  $("results").hidden = false;
  setStatus(`Scored: document ${r.label} ${fmt(r.probabilities[r.label])}, stance index ${signed(r.stance_index)}, ` +
    `${r.paragraphs.length} paragraph(s)${r.low_confidence ? ", low confidence" : ""}.`);
}

// ---- explanations -----------------------------------------------------------

// The paragraph's text with each explanation term wrapped in <mark>. Terms
// may overlap (a word pair and one of its words), so the text is cut at every
// term boundary and each piece is marked with all the terms that cover it.
function highlighted(p, terms) {
  const map = utf16Offsets(state.doc);
  const text = state.doc.slice(p.start_utf16, p.end_utf16);
  const spans = terms.map((t) => ({ ...t, s: map[t.start] - p.start_utf16, e: map[t.end] - p.start_utf16 }));
  const cuts = [...new Set([0, text.length, ...spans.flatMap((t) => [t.s, t.e])])]
    .filter((c) => c >= 0 && c <= text.length).sort((a, b) => a - b);
  const out = el("p", { class: "para-text" });
  for (let i = 0; i + 1 < cuts.length; i++) {
    const [a, b] = [cuts[i], cuts[i + 1]];
    const piece = text.slice(a, b);
    const cover = spans.filter((t) => t.s <= a && t.e >= b);
    if (!cover.length) {
      out.append(piece);
      continue;
    }
    const dirs = new Set(cover.map((t) => t.dir));
    const kind = dirs.size > 1 ? "both" : [...dirs][0];
    out.append(el("mark", {
      class: kind,
      "data-terms": cover.map((t) => t.id).join(" "),
      title: cover.map((t) => `${t.term}: ${signed(t.weight)}`).join(", "),
    }, piece));
  }
  return out;
}

function termTable(caption, terms) {
  if (!terms.length) return el("p", {}, `${caption}: none.`);
  return el("table", {},
    el("caption", {}, caption),
    el("tr", {}, el("th", { scope: "col" }, "text"), el("th", { scope: "col" }, "model term"), el("th", { scope: "col" }, "weight")),
    ...terms.map((t) => el("tr", { "data-term": t.id, "data-start": String(t.start), "data-end": String(t.end) },
      el("td", {}, el("mark", { class: t.dir }, t.text)), el("td", {}, t.term), el("td", { class: "num" }, signed(t.weight)))));
}

function explanationPanel(p) {
  const x = p.explanation;
  if (!x) return { panel: el("div", { class: "explain" }, "No explanation: set “Terms shown per paragraph” above 0 and score again."), terms: [] };
  const toward = x.toward.map((t, i) => ({ ...t, dir: "toward", id: `toward-${i}` }));
  const against = x.against.map((t, i) => ({ ...t, dir: "against", id: `against-${i}` }));
  const panel = el("div", { class: "explain", role: "region", "aria-label": "terms that drove this paragraph's score" },
    el("p", {}, `ln(P(${x.label}) / P(${x.runner_up})) = ${x.log_odds.toFixed(3)}: intercept ${signed(x.intercept)} plus the terms' weights. ` +
      "Solid underline: toward the label; dotted: toward the runner-up."),
    termTable(`Terms toward ${x.label}`, toward),
    termTable(`Terms toward ${x.runner_up} (against ${x.label})`, against));
  return { panel, terms: toward.concat(against) };
}

function toggle(div) {
  const open = div.getAttribute("aria-expanded") === "true";
  for (const other of document.querySelectorAll(".para[aria-expanded=true]")) collapse(other);
  if (open) return;
  const p = state.result.paragraphs[Number(div.dataset.index)];
  const { panel, terms } = explanationPanel(p);
  panel.id = `explain-${div.dataset.index}`;
  div.querySelector(".para-text").replaceWith(highlighted(p, terms));
  div.after(panel); // beside the button, not inside it: a button's content is read as one label
  div.setAttribute("aria-expanded", "true");
}

function collapse(div) {
  const p = state.result.paragraphs[Number(div.dataset.index)];
  div.querySelector(".para-text").replaceWith(el("p", { class: "para-text" }, state.doc.slice(p.start_utf16, p.end_utf16)));
  const panel = div.parentElement.querySelector(".explain");
  if (panel) panel.remove();
  div.setAttribute("aria-expanded", "false");
}

// ---- files ------------------------------------------------------------------

async function loadFile(file) {
  if (!file) return;
  if (!/\.txt$/i.test(file.name) && file.type !== "text/plain") {
    showError(`${file.name} is not a .txt file.`);
    return;
  }
  $("text").value = await file.text();
  showError("");
  setStatus(`Loaded ${file.name} (${file.size} bytes). Press Score.`);
}

// ---- wiring -------------------------------------------------------------------

function init() {
  const saved = sessionStorage.getItem(KEY_STORAGE);
  if (saved) {
    $("key").value = saved;
    $("remember-key").checked = true;
    showKeyBox(false);
  }
  $("score-form").addEventListener("submit", score);
  $("file").addEventListener("change", (e) => loadFile(e.target.files[0]));
  const area = $("text");
  area.addEventListener("dragover", (e) => { e.preventDefault(); area.classList.add("dragging"); });
  area.addEventListener("dragleave", () => area.classList.remove("dragging"));
  area.addEventListener("drop", (e) => {
    e.preventDefault();
    area.classList.remove("dragging");
    loadFile(e.dataTransfer.files[0]);
  });
  const list = $("paragraphs");
  list.addEventListener("click", (e) => {
    if (e.target.closest(".explain")) return;
    const div = e.target.closest(".para");
    if (div) toggle(div);
  });
  list.addEventListener("keydown", (e) => {
    if (e.target.classList.contains("para") && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      toggle(e.target);
    }
  });
  loadModel();
}

init();
