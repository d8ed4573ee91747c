// The page: send the review to POST /explain, show the verdict and colour each word by
// its occlusion contribution to P(class explained): green towards that class, red away
// from it. Two classes: a meter of P(positive), the second class, explained by default.
// More: a bar per class with its probability; the predicted class is explained, and
// picking another bar explains that one.
"use strict";

const $ = (id) => document.getElementById(id);
let classes = ["negative", "positive"]; // from /health, in class-index order

function errorMessage(body, status) {
  const detail = body && body.detail;
  if (detail && detail.error) return detail.error;
  if (Array.isArray(detail) && detail.length) return detail[0].msg;
  return `request failed (HTTP ${status})`;
}

async function call(path, payload) {
  const response = await fetch(path, payload && {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(errorMessage(body, response.status));
  return body;
}

// White to green (positive) or red (negative), by |contribution| / the largest one.
function colour(contribution, scale) {
  const s = Math.min(1, Math.abs(contribution) / scale);
  const [r, g, b] = contribution > 0 ? [34, 197, 94] : [239, 68, 68];
  const mix = (c) => Math.round(255 + (c - 255) * s);
  return `rgb(${mix(r)}, ${mix(g)}, ${mix(b)})`;
}

// IMDB reviews mark line breaks with <br />; the model reads them as spaces.
const lineBreaks = (text) => text.replace(/<br\s*\/?>/gi, "\n");

function highlight(explanation) {
  const box = $("highlighted");
  box.replaceChildren();
  const { text, tokens } = explanation;
  const scale = Math.max(1e-9, ...tokens.map((t) => Math.abs(t.contribution)));
  let pos = 0;
  for (const token of tokens) {
    if (token.start < pos) continue; // one character normalised into several tokens
    if (token.start > pos) box.append(lineBreaks(text.slice(pos, token.start)));
    const span = document.createElement("span");
    span.textContent = text.slice(token.start, token.end);
    const c = token.contribution; // null: not scored (past the server's max_explain_tokens)
    span.className = "tok" + (token.read || c ? "" : " unread");
    if (c) {
      span.classList.add(c > 0 ? "tok-pos" : "tok-neg");
      span.style.background = colour(c, scale);
    }
    span.title = (c === null ? "not scored" : `contribution ${c >= 0 ? "+" : ""}${c.toFixed(4)}`) +
      (token.read ? "" : " (outside the part of a long review the GRU reads)");
    box.append(span);
    pos = token.end;
  }
  if (pos < text.length) box.append(lineBreaks(text.slice(pos)));
}

// One bar per class: its name, P(class) as a bar and a number; picking it explains it.
function showBars(prediction, target) {
  const bars = $("bars");
  bars.replaceChildren();
  for (const name of classes) {
    const p = prediction.probabilities[name];
    const button = document.createElement("button");
    button.type = "button";
    button.className = "bar" + (name === prediction.label ? " predicted" : "");
    button.dataset.class = name;
    button.setAttribute("aria-pressed", String(name === target));
    button.title = `explain P(${name})`;
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = name;
    const track = document.createElement("span");
    track.className = "track";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.width = `${(100 * p).toFixed(1)}%`;
    track.append(fill);
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = `${(100 * p).toFixed(1)}%`;
    button.append(label, track, value);
    button.addEventListener("click", () => analyse(null, name));
    const item = document.createElement("li");
    item.append(button);
    bars.append(item);
  }
}

// What the colours mean, for the class explained.
function showTarget(target) {
  for (const span of document.querySelectorAll("#how .target")) span.textContent = target;
  const others = classes.filter((c) => c !== target);
  $("away").textContent = others.length === 1 ? `towards ${others[0]}` : "away from it";
}

// `target`: the class to explain; none: the server's default (positive, or the predicted).
async function analyse(event, target) {
  if (event) event.preventDefault();
  const text = $("review").value;
  $("error").hidden = true;
  $("analyse").disabled = true;
  try {
    const explanation = await call("/explain", target ? { text, target_class: target } : { text });
    const p = explanation.prediction;
    const multi = classes.length > 2;
    const shown = multi ? p.label : classes[1]; // the class `probability` is of
    const verdict = $("verdict");
    verdict.textContent = `${p.label} — P(${shown}) = ${p.probability.toFixed(3)}` +
      (p.truncated ? " (long review: only part of it was read)" : "");
    verdict.className = multi ? "" : p.label;
    $("meter").hidden = multi;
    $("meter-fill").style.width = `${(100 * p.probability).toFixed(1)}%`;
    $("classes").hidden = !multi;
    if (multi) showBars(p, explanation.target_class);
    showTarget(explanation.target_class);
    highlight(explanation);
    $("result").hidden = false;
  } catch (err) {
    $("error").textContent = err.message;
    $("error").hidden = false;
  } finally {
    $("analyse").disabled = false;
  }
}

async function start() {
  $("form").addEventListener("submit", (event) => analyse(event));
  const health = await call("/health");
  classes = health.classes;
  const m = health.test_metrics;
  const many = classes.length > 2 ? `, ${classes.length} classes` : "";
  $("model").textContent = `model ${health.model} (preset ${health.preset}, ${health.cell ? health.cell.toUpperCase() : "TF-IDF + LR"}${many})` +
    (m.accuracy === undefined ? "" : `, test accuracy ${(100 * m.accuracy).toFixed(1)}%`);
  $("review").maxLength = health.limits.max_chars;
  for (const example of await call("/examples")) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "example";
    const text = example.text.replace(/<br\s*\/?>/gi, " ");
    button.textContent = text.length > 140 ? text.slice(0, 140) + "…" : text;
    const label = document.createElement("span");
    label.className = "label";
    label.textContent = example.true;
    item.append(label);
    button.addEventListener("click", () => {
      $("review").value = example.text;
      analyse();
    });
    item.append(button);
    $("examples").append(item);
  }
}

start().catch((err) => {
  $("error").textContent = err.message;
  $("error").hidden = false;
});
