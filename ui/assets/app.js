// cscript ui: the little script the pages need. No inline script: the
// Content-Security-Policy allows only this file.
"use strict";

function $(sel, root) { return (root || document).querySelector(sel); }
function $all(sel, root) { return Array.from((root || document).querySelectorAll(sel)); }

// Select boxes that submit their form when changed (the deck).
function autosubmit() {
  $all("select.autosubmit").forEach(function (s) {
    s.addEventListener("change", function () { s.form.submit(); });
  });
  $all("button.confirm-click").forEach(function (b) {
    b.addEventListener("click", function (e) {
      if (!window.confirm(b.dataset.confirm)) { e.preventDefault(); }
    });
  });
}

// A live run: its events from /run/events (server-sent events).
function liveRun() {
  var live = $("#live");
  if (!live || live.dataset.running !== "true") { return; }
  var id = live.dataset.id, out = $("#output"), phases = $("#phases"), state = $("#runstate");
  var es = new EventSource("/run/events?id=" + encodeURIComponent(id));
  var lastPhase = null;
  var shown = window.cscriptShown = [];
  function append(text, cls) {
    var atEnd = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
    var span = document.createElement("span");
    if (cls) { span.className = cls; }
    span.textContent = text;
    out.appendChild(span);
    if (atEnd) { out.scrollTop = out.scrollHeight; }
  }
  es.onmessage = function (m) {
    var e = JSON.parse(m.data);
    switch (e.kind) {
    case "out":
      append(e.text, e.stream === "stderr" ? "err" : "");
      // When each chunk was shown (the latency measurement reads it).
      if (shown.length < 10000) { shown.push([e.text, Date.now()]); }
      break;
    case "phase":
      if (lastPhase) { lastPhase.classList.remove("now"); }
      lastPhase = document.createElement("li");
      lastPhase.className = "now";
      lastPhase.textContent = e.stream + (e.text ? ": " + e.text : "");
      lastPhase.dataset.phase = e.stream;
      phases.appendChild(lastPhase);
      break;
    case "end":
      es.close();
      append("\n" + e.text + "\n", "meta");
      state.textContent = "ended";
      // The record, the trace, the downloads: the page of the finished run.
      window.setTimeout(function () { window.location.reload(); }, 300);
      break;
    default:
      append("[" + e.kind + "] " + e.text + "\n", "meta");
    }
  };
  var cancel = $("#cancel");
  if (cancel) {
    cancel.addEventListener("click", function () {
      cancel.textContent = "Cancelling… (again: force)";
      fetch("/run/cancel?id=" + encodeURIComponent(id), { method: "POST", credentials: "same-origin" });
    });
  }
}

// The editor: YAML highlighting under a textarea, problems while typing.
function esc(s) { return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"); }

function highlightLine(line) {
  var m = line.match(/^(\s*)(#.*)$/);
  if (m) { return esc(m[1]) + '<span class="c">' + esc(m[2]) + "</span>"; }
  var out = "", rest = line;
  m = rest.match(/^(\s*(?:- )?)([A-Za-z_][\w.-]*)(:)(\s|$)/);
  if (m) {
    out += esc(m[1]) + '<span class="k">' + esc(m[2]) + "</span>" + m[3];
    rest = rest.slice(m[1].length + m[2].length + 1);
  }
  var hash = rest.search(/\s#/);
  var comment = "";
  if (hash >= 0 && rest.indexOf("{{") < 0) { comment = rest.slice(hash); rest = rest.slice(0, hash); }
  var t = esc(rest)
    .replace(/\{\{.*?\}\}/g, function (x) { return '<span class="t">' + x + "</span>"; });
  if (/^\s*(&quot;|")/.test(rest) || /^\s*'/.test(rest)) { t = '<span class="s">' + t + "</span>"; }
  else if (/^\s*-?\d+(\.\d+)?\s*$/.test(rest) || /^\s*(true|false|null)\s*$/.test(rest)) { t = '<span class="n">' + t + "</span>"; }
  return out + t + (comment ? '<span class="c">' + esc(comment) + "</span>" : "");
}

function editor() {
  var ta = $("#text"), hl = $("#hl");
  if (!ta || !hl) { return; }
  var bad = {};
  function paint() {
    var lines = ta.value.split("\n");
    hl.innerHTML = lines.map(function (l, i) {
      var h = highlightLine(l);
      return bad[i + 1] ? '<span class="bad" title="' + esc(bad[i + 1]) + '">' + (h || " ") + "</span>" : h;
    }).join("\n") + "\n";
    hl.scrollTop = ta.scrollTop;
    hl.scrollLeft = ta.scrollLeft;
  }
  function showProblems(ps) {
    bad = {};
    var ul = $("#problems");
    ul.innerHTML = "";
    ps.forEach(function (p) {
      if (p.line) { bad[p.line] = p.message; }
      var li = document.createElement("li");
      li.textContent = p.text;
      li.dataset.line = p.line;
      ul.appendChild(li);
    });
    $("#problem-count").textContent = ps.length;
    paint();
  }
  var timer = null, seq = 0;
  function check() {
    var mine = ++seq;
    var body = new URLSearchParams();
    body.set("path", $("#path").value);
    body.set("text", ta.value);
    fetch("/write/check", { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (ps) { if (mine === seq) { showProblems(ps); } });
  }
  ta.addEventListener("input", function () {
    paint();
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 250);
  });
  ta.addEventListener("scroll", function () { hl.scrollTop = ta.scrollTop; hl.scrollLeft = ta.scrollLeft; });
  ta.addEventListener("keydown", function (e) {
    if (e.key === "Tab") {
      e.preventDefault();
      var s = ta.selectionStart;
      ta.setRangeText("  ", s, ta.selectionEnd, "end");
      ta.dispatchEvent(new Event("input"));
    }
  });
  $("#problems").addEventListener("click", function (e) {
    var line = parseInt(e.target.dataset.line, 10);
    if (!line) { return; }
    var lines = ta.value.split("\n"), pos = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) { pos += lines[i].length + 1; }
    ta.focus();
    ta.setSelectionRange(pos, pos + (lines[line - 1] || "").length);
    ta.scrollTop = Math.max(0, (line - 5) * 19);
  });
  $all("#problems li").forEach(function (li) { if (li.dataset.line > 0) { bad[li.dataset.line] = li.textContent; } });
  paint();
}

document.addEventListener("DOMContentLoaded", function () {
  autosubmit();
  liveRun();
  editor();
});
