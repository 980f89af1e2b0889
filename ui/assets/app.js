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

// Completion in the editor: the fields the schema allows where the caret
// is (nesting read from the indentation), each with its description, and
// an enum's values after "key: ". The data is the JSON Schemas' fields,
// served by /write/completion.json (no value of the user's is in it).

// yamlLine is what completion needs of one line: its indentation, whether
// it starts a list item, the column of its key, the key and its value.
function yamlLine(l) {
  var m = l.match(/^( *)((?:- +)*)(.*)$/);
  var r = { indent: m[1].length, dash: m[2].length > 0, col: m[1].length + m[2].length, key: null, value: null };
  var rest = m[3];
  r.blank = !r.dash && (rest.trim() === "" || rest.charAt(0) === "#");
  var k = rest.match(/^([A-Za-z_][\w.-]*|"[^"]*"|'[^']*')[ \t]*:(?:[ \t]+(.*))?$/);
  if (k) {
    r.key = k[1].replace(/^["']|["']$/g, "");
    r.value = (k[2] || "").replace(/(^|\s+)#.*$/, "").trim();
  }
  return r;
}

// yamlContext is where the key being typed at line i (at column col, a
// list item's first key when dash, whose dash is at indent) sits: the keys
// of its ancestors and the keys its mapping already has; null inside a
// block scalar or where the indentation says nothing clear.
function yamlContext(lines, i, col, dash, indent) {
  var path = [], seq = dash ? indent : -1, have = {}, own = true;
  for (var j = i - 1; j >= 0; j--) {
    var l = yamlLine(lines[j]);
    if (l.blank) { continue; }
    if (seq >= 0) {
      // Looking for the key that holds the list of this item.
      if (l.dash && l.indent === seq) { continue; }
      if (l.col > seq) { continue; }
      if (!l.key || l.value !== "" || (l.dash && l.col === seq)) { return null; }
      path.unshift(l.key);
      col = l.col;
      seq = l.dash ? l.indent : -1;
      own = false;
      continue;
    }
    if (l.col > col) { continue; }
    if (l.col === col) {
      if (own && l.key) { have[l.key] = true; }
      if (l.dash) { seq = l.indent; own = false; }
      continue;
    }
    // A parent: a key with nothing after it ("key: |" is a block scalar).
    if (!l.key || l.value !== "") { return null; }
    path.unshift(l.key);
    col = l.col;
    seq = l.dash ? l.indent : -1;
    own = false;
  }
  return { path: path, have: have };
}

// siblingsBelow adds the keys of the same mapping after line i.
function siblingsBelow(lines, i, col, have) {
  for (var j = i + 1; j < lines.length; j++) {
    var l = yamlLine(lines[j]);
    if (l.blank || l.col > col) { continue; }
    if (l.col < col || l.dash) { return; }
    if (l.key) { have[l.key] = true; }
  }
}

// fieldsAt is the schema's fields at path (keys from the top), or null.
function fieldsAt(fields, path) {
  var anyNext = null;
  for (var i = 0; i < path.length; i++) {
    if (anyNext) { fields = anyNext; anyNext = null; continue; }
    var f = null;
    for (var k = 0; k < fields.length; k++) { if (fields[k].name === path[i]) { f = fields[k]; } }
    if (!f) { return null; }
    if (f.shape === "map") { anyNext = f.any || []; fields = []; } else { fields = f.fields || []; }
  }
  return anyNext ? [] : fields;
}

function completer(ta) {
  var data = null, box = null, items = [], at = 0, edit = null;
  fetch("/write/completion.json", { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (d) { data = d; ta.dataset.completion = "ready"; });
  box = document.createElement("div");
  box.id = "complete";
  box.className = "complete";
  box.setAttribute("role", "listbox");
  box.hidden = true;
  ta.parentNode.appendChild(box);
  var canvas = document.createElement("canvas");
  function charWidth() {
    var c = canvas.getContext("2d");
    c.font = window.getComputedStyle(ta).font;
    return c.measureText("0000000000").width / 10;
  }
  function kind() {
    if (/^kind:[ \t]*["']?Lifecycle/m.test(ta.value)) { return "lifecycle"; }
    var p = ($("#path") || {}).value || "";
    if (/(^|\/)decks\/[^/]+$/.test(p)) { return "deck"; }
    if (/(^|\/)values\.ya?ml$/.test(p)) { return "values"; }
    return "script";
  }
  function hide() { box.hidden = true; items = []; edit = null; }
  // update works out what to offer at the caret; explicit (Ctrl+Space)
  // offers keys before a letter is typed.
  function update(explicit) {
    if (!data || ta.selectionStart !== ta.selectionEnd) { hide(); return; }
    var pos = ta.selectionStart, text = ta.value;
    var ls = text.lastIndexOf("\n", pos - 1) + 1, le = text.indexOf("\n", pos);
    if (le < 0) { le = text.length; }
    var before = text.slice(ls, pos), after = text.slice(pos, le);
    var lines = text.split("\n"), i = text.slice(0, ls).split("\n").length - 1;
    var fields = data[kind()] ? data[kind()].fields : [];
    var m, offers = [];
    if ((m = before.match(/^( *)((?:- +)*)([A-Za-z_][\w-]*)?$/)) && /^\s*$/.test(after)) {
      var word = m[3] || "";
      if (!word && !explicit) { hide(); return; }
      var col = m[1].length + m[2].length;
      var ctx = yamlContext(lines, i, col, m[2].length > 0, m[1].length);
      if (!ctx) { hide(); return; }
      siblingsBelow(lines, i, col, ctx.have);
      var here = fieldsAt(fields, ctx.path) || [];
      var w = word.toLowerCase();
      here.forEach(function (f) {
        if (ctx.have[f.name] || f.name.toLowerCase().indexOf(w) < 0) { return; }
        offers.push({ label: f.name, type: f.type, doc: f.description, field: f, col: col, start: pos - word.length, end: pos, first: f.name.toLowerCase().indexOf(w) === 0 });
      });
      offers.sort(function (a, b) { return (b.first - a.first) || (a.label < b.label ? -1 : 1); });
    } else if ((m = before.match(/^( *)((?:- +)*)([A-Za-z_][\w.-]*)[ \t]*:[ \t]+(["']?)([^\s"']*)$/)) && /^\s*$/.test(after)) {
      var vcol = m[1].length + m[2].length;
      var vctx = yamlContext(lines, i, vcol, m[2].length > 0, m[1].length);
      var vf = null;
      (vctx && fieldsAt(fields, vctx.path) || []).forEach(function (f) { if (f.name === m[3]) { vf = f; } });
      if (!vf || !vf.values) { hide(); return; }
      var part = m[5];
      vf.values.forEach(function (v) {
        if (v.indexOf(part) !== 0) { return; }
        offers.push({ label: v, type: vf.name, doc: vf.description, value: true, start: pos - part.length, end: pos });
      });
      if (offers.length === 1 && offers[0].label === part && !explicit) { offers = []; }
    }
    if (!offers.length) { hide(); return; }
    items = offers;
    at = 0;
    edit = { line: i, col: before.length };
    render();
  }
  function render() {
    box.innerHTML = "";
    items.forEach(function (o, k) {
      var d = document.createElement("div");
      d.className = "opt" + (k === at ? " on" : "");
      d.setAttribute("role", "option");
      d.setAttribute("aria-selected", k === at ? "true" : "false");
      d.dataset.name = o.label;
      var n = document.createElement("span");
      n.className = "name";
      n.textContent = o.label;
      var t = document.createElement("span");
      t.className = "type";
      t.textContent = o.type;
      var doc = document.createElement("div");
      doc.className = "doc";
      doc.textContent = o.doc || "";
      d.appendChild(n);
      d.appendChild(t);
      d.appendChild(doc);
      d.addEventListener("mousedown", function (e) { e.preventDefault(); at = k; accept(); });
      box.appendChild(d);
    });
    var cs = window.getComputedStyle(ta);
    var lh = parseFloat(cs.lineHeight) || 19;
    box.style.top = (parseFloat(cs.paddingTop) + (edit.line + 1) * lh - ta.scrollTop + 2) + "px";
    box.style.left = Math.max(0, parseFloat(cs.paddingLeft) + edit.col * charWidth() - ta.scrollLeft) + "px";
    box.hidden = false;
    var on = box.children[at];
    if (on && on.scrollIntoView) { on.scrollIntoView({ block: "nearest" }); }
  }
  function accept() {
    var o = items[at];
    if (!o) { return; }
    var ins = o.label;
    if (!o.value) {
      var pad = "\n" + new Array(o.col + 3).join(" ");
      switch (o.field.shape) {
      case "object": case "map": ins += ":" + pad; break;
      case "list": case "scalars": ins += ":" + pad + "- "; break;
      default: ins += ": ";
      }
    }
    hide();
    ta.setRangeText(ins, o.start, o.end, "end");
    ta.dispatchEvent(new Event("input"));
  }
  // key handles a key while the list is open; true when it took it.
  function key(e) {
    if (e.key === " " && e.ctrlKey) { e.preventDefault(); update(true); return true; }
    if (box.hidden) { return false; }
    switch (e.key) {
    case "ArrowDown": at = (at + 1) % items.length; break;
    case "ArrowUp": at = (at + items.length - 1) % items.length; break;
    case "Enter": case "Tab": accept(); break;
    case "Escape": hide(); break;
    default:
      if (/^(ArrowLeft|ArrowRight|Home|End|PageUp|PageDown)$/.test(e.key)) { hide(); }
      return false;
    }
    e.preventDefault();
    if (!box.hidden) { render(); }
    return true;
  }
  ta.addEventListener("blur", hide);
  ta.addEventListener("mousedown", hide);
  ta.addEventListener("scroll", function () { if (!box.hidden) { render(); } });
  return { update: update, key: key };
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
    comp.update(false);
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 250);
  });
  ta.addEventListener("scroll", function () { hl.scrollTop = ta.scrollTop; hl.scrollLeft = ta.scrollLeft; });
  var comp = completer(ta);
  ta.addEventListener("keydown", function (e) {
    if (comp.key(e)) { return; }
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
