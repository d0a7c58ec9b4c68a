// furl console: live updates over server-sent events, copy buttons, diff picking. No inline
// script anywhere (the CSP forbids it); everything is attached here.
(function () {
  "use strict";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function statusClass(s) { return s >= 500 ? "s5" : s >= 400 ? "s4" : s >= 300 ? "s3" : "s2"; }
  function markLive(kind, on) {
    var b = document.querySelector('[data-live="' + kind + '"]');
    if (b) b.classList.toggle("on", on);
  }

  // Live request list.
  var table = document.getElementById("requests");
  if (table && window.EventSource) {
    var tbody = table.querySelector("tbody");
    var es = new EventSource(table.getAttribute("data-stream"));
    es.onopen = function () { markLive("requests", true); };
    es.onerror = function () { markLive("requests", false); };
    es.addEventListener("request", function (ev) {
      var r = JSON.parse(ev.data);
      if (tbody.querySelector('tr[data-id="' + CSS.escape(r.id) + '"]')) return;
      var tr = el("tr", "new");
      tr.setAttribute("data-id", r.id);
      var href = "/furl/console/requests/" + encodeURIComponent(r.id);
      var sel = el("td", "sel"), cb = el("input");
      cb.type = "checkbox"; cb.name = "pick"; cb.value = r.id; sel.appendChild(cb); tr.appendChild(sel);
      var t = el("td", "nowrap"), a = el("a", "", r.time); a.href = href; t.appendChild(a); tr.appendChild(t);
      tr.appendChild(el("td", "", r.function));
      tr.appendChild(el("td", "", r.method));
      var p = el("td", "path"), pa = el("a", "", r.path); pa.href = href; p.appendChild(pa);
      if (r.refused) { p.appendChild(document.createTextNode(" ")); p.appendChild(el("span", "why", r.refused)); }
      tr.appendChild(p);
      var st = el("td", "num"); st.appendChild(el("span", "status " + statusClass(r.status), String(r.status))); tr.appendChild(st);
      tr.appendChild(el("td", "num", r.duration));
      var s = el("td"); s.appendChild(el("span", "pill " + r.start, r.start)); tr.appendChild(s);
      tr.appendChild(el("td", "", r.caller));
      tr.appendChild(el("td", "principal", r.principal));
      tbody.insertBefore(tr, tbody.firstChild);
      while (tbody.rows.length > 500) tbody.deleteRow(tbody.rows.length - 1);
      var empty = document.getElementById("norequests");
      if (empty) empty.classList.add("hidden");
    });
    window.addEventListener("beforeunload", function () { es.close(); });
  }

  // Diff: pick two rows.
  var diffBtn = document.getElementById("diff");
  if (diffBtn) {
    var form = diffBtn.form;
    form.addEventListener("change", function () {
      var picked = form.querySelectorAll('input[name="pick"]:checked');
      diffBtn.disabled = picked.length !== 2;
      if (picked.length === 2) {
        document.getElementById("diff-a").value = picked[1].value;
        document.getElementById("diff-b").value = picked[0].value;
      }
    });
    form.addEventListener("submit", function () {
      form.querySelectorAll('input[name="pick"]').forEach(function (c) { c.disabled = true; });
    });
  }

  // Live logs.
  var logs = document.getElementById("loglines");
  if (logs && window.EventSource) {
    var les = new EventSource(logs.getAttribute("data-stream"));
    les.onopen = function () { markLive("logs", true); };
    les.onerror = function () { markLive("logs", false); };
    les.addEventListener("log", function (ev) {
      var l = JSON.parse(ev.data);
      var line = el("span", "ll " + (l.Kind || ""));
      var time = new Date(l.Time);
      line.appendChild(el("span", "t", time.toISOString().substring(11, 23)));
      line.appendChild(document.createTextNode(" " + l.Message));
      var stick = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
      logs.appendChild(line);
      logs.appendChild(document.createTextNode("\n"));
      while (logs.childNodes.length > 2000) logs.removeChild(logs.firstChild);
      if (stick) logs.scrollTop = logs.scrollHeight;
    });
    window.addEventListener("beforeunload", function () { les.close(); });
  }

  // Copy buttons.
  document.querySelectorAll("[data-copy]").forEach(function (b) {
    b.addEventListener("click", function () {
      var src = document.getElementById(b.getAttribute("data-copy"));
      var text = src.value !== undefined ? src.value : src.textContent;
      var done = function () { b.textContent = "Copied"; setTimeout(function () { b.textContent = "Copy"; }, 1500); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { src.select(); document.execCommand("copy"); done(); });
      } else { src.select(); document.execCommand("copy"); done(); }
    });
  });

  // After a one-time link: move on to the console (a same-origin navigation).
  var cont = document.querySelector("[data-autofollow]");
  if (cont) window.location.replace(cont.getAttribute("href"));
})();
