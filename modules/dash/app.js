// warren dashboard: the page's script (docs/dashboard.md). No framework,
// no build step. Everything that came through a tunnel (paths, headers,
// bodies) is put on the page with textContent or as an attribute value,
// never as HTML.
"use strict";

(function () {
  const MAX_ROWS = 1000;
  const HEX_BYTES = 512;

  const $ = (id) => document.getElementById(id);
  const rows = new Map(); // id -> {summary, tr}
  let selected = null; // the id shown in the detail panel
  let selectedDetail = null;
  let events = null;

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  async function api(path, options) {
    const opts = Object.assign({ credentials: "same-origin" }, options || {});
    const res = await fetch(path, opts);
    let body = null;
    try {
      body = await res.json();
    } catch (e) {
      body = null;
    }
    if (!res.ok) {
      const why = body && body.error ? body.error : res.status + " " + res.statusText;
      throw new Error(why);
    }
    return body;
  }

  function post(path, data, method) {
    return api(path, {
      method: method || "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(data || {}),
    });
  }

  function size(n) {
    if (n === null || n === undefined) return "";
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KiB";
    return (n / 1024 / 1024).toFixed(1) + " MiB";
  }

  function duration(ms) {
    if (ms === null || ms === undefined) return "…";
    if (ms < 1) return ms.toFixed(2) + " ms";
    if (ms < 1000) return ms.toFixed(1) + " ms";
    return (ms / 1000).toFixed(2) + " s";
  }

  function clock(iso) {
    const t = new Date(iso);
    return isNaN(t) ? "" : t.toLocaleTimeString();
  }

  function statusText(s) {
    if (s.state === "live") return s.status ? String(s.status) : "…";
    if (s.state === "error") return s.status ? s.status + " failed" : "failed";
    return String(s.status);
  }

  function statusClass(s) {
    if (s.state === "error") return "st-err";
    if (!s.status) return "st-live";
    return "st-" + String(s.status)[0];
  }

  // --- the list ------------------------------------------------------------

  function matches(s) {
    const text = $("filter").value.trim().toLowerCase();
    const cls = $("status").value;
    if (cls === "error" && s.state !== "error") return false;
    if (cls && cls !== "error" && (!s.status || String(s.status)[0] !== cls)) return false;
    if (!text) return true;
    return [s.method, s.host, s.path, s.tunnel, s.status ? String(s.status) : ""].some(
      (f) => f && String(f).toLowerCase().indexOf(text) >= 0
    );
  }

  function fillRow(tr, s) {
    const cells = [
      s.id + (s.replay_of ? " ↻" + s.replay_of : ""),
      clock(s.time),
      s.method,
      s.host,
      s.path,
      statusText(s),
      duration(s.duration_ms),
      size(s.response_size),
    ];
    clear(tr);
    cells.forEach((c, i) => {
      const td = el("td", c);
      if (i === 4) td.className = "path";
      if (i === 5) td.className = statusClass(s);
      tr.appendChild(td);
    });
    tr.title = s.method + " " + s.path;
    tr.hidden = !matches(s);
  }

  function upsert(s) {
    let row = rows.get(s.id);
    if (row) {
      row.summary = s;
      fillRow(row.tr, s);
    } else {
      const tr = el("tr");
      tr.dataset.id = String(s.id);
      tr.tabIndex = 0;
      tr.addEventListener("click", () => select(s.id));
      tr.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter") select(s.id);
      });
      row = { summary: s, tr: tr };
      rows.set(s.id, row);
      fillRow(tr, s);
      // newest first: before the first row with a smaller id
      const tbody = $("requests").tBodies[0];
      let before = null;
      for (const other of tbody.rows) {
        if (Number(other.dataset.id) < s.id) {
          before = other;
          break;
        }
      }
      tbody.insertBefore(tr, before);
      while (rows.size > MAX_ROWS) {
        const last = tbody.rows[tbody.rows.length - 1];
        rows.delete(Number(last.dataset.id));
        tbody.removeChild(last);
      }
    }
    if (row.tr.classList.contains("selected") || s.id === selected) {
      row.tr.classList.add("selected");
      if (s.id === selected && s.state !== "live") showDetail(s.id, false);
    }
    counts();
  }

  function refilter() {
    for (const row of rows.values()) row.tr.hidden = !matches(row.summary);
    counts();
  }

  function counts() {
    let shown = 0;
    for (const row of rows.values()) if (!row.tr.hidden) shown++;
    $("count").textContent = shown === rows.size ? rows.size + " requests" : shown + " of " + rows.size;
    $("empty").hidden = rows.size > 0;
  }

  function resetList() {
    rows.clear();
    clear($("requests").tBodies[0]);
    counts();
  }

  async function loadList() {
    const data = await api("/api/requests?limit=" + MAX_ROWS);
    showCapture(data.capture);
    // oldest first, so that each lands above the previous
    data.requests.slice().reverse().forEach(upsert);
  }

  function showCapture(c) {
    if (!c) return;
    $("capture").textContent = c.enabled
      ? "capturing (up to " + c.max_entries + " requests, " + size(c.max_body) + " per body)"
      : "capture is off (dashboard.capture: false)";
  }

  // --- tunnels -------------------------------------------------------------

  function showTunnels(t) {
    const tbody = $("tunnels").tBodies[0];
    clear(tbody);
    t.tunnels.forEach((x) => {
      const tr = el("tr");
      tr.appendChild(el("td", x.name));
      tr.appendChild(el("td", x.type));
      const url = el("td");
      if (x.public_url) {
        if (/^https?:\/\//.test(x.public_url)) {
          const a = el("a", x.public_url);
          a.href = x.public_url;
          a.target = "_blank";
          a.rel = "noopener noreferrer";
          url.appendChild(a);
        } else {
          url.textContent = x.public_url;
        }
      } else {
        url.textContent = "—";
      }
      tr.appendChild(url);
      tr.appendChild(el("td", x.local));
      tr.appendChild(el("td", x.state, x.state === "online" ? "st-2" : "st-err"));
      tbody.appendChild(tr);
    });
    const s = t.session;
    $("session").textContent =
      "Server " + s.server + ": " + s.state + (s.detail ? " (" + s.detail + ")" : "") +
      " since " + clock(s.since);
  }

  // --- detail --------------------------------------------------------------

  function headersTable(table, headers) {
    const tbody = table.tBodies[0];
    clear(tbody);
    (headers || []).forEach((h) => {
      const tr = el("tr");
      tr.appendChild(el("th", h[0]));
      tr.appendChild(el("td", h[1]));
      tbody.appendChild(tr);
    });
  }

  function hexdump(b64) {
    const bin = atob(b64);
    const n = Math.min(bin.length, HEX_BYTES);
    const lines = [];
    for (let off = 0; off < n; off += 16) {
      let hex = "";
      let ascii = "";
      for (let i = off; i < off + 16; i++) {
        if (i < n) {
          const c = bin.charCodeAt(i);
          hex += c.toString(16).padStart(2, "0") + " ";
          ascii += c >= 32 && c < 127 ? String.fromCharCode(c) : ".";
        } else {
          hex += "   ";
        }
      }
      lines.push(off.toString(16).padStart(8, "0") + "  " + hex + " |" + ascii + "|");
    }
    return lines.join("\n");
  }

  function bodyView(box, id, dir, body) {
    clear(box);
    if (!body || body.size === 0) {
      box.appendChild(el("p", "No body.", "muted"));
      return;
    }
    const note = el("p", "", "muted");
    note.textContent =
      size(body.size) +
      (body.truncated ? " — only the first " + size(body.captured) + " were captured" : "") +
      (body.binary ? " — binary, first " + Math.min(body.captured, HEX_BYTES) + " bytes shown" : "") +
      " ";
    const a = el("a", "download");
    a.href = "/api/requests/" + Number(id) + "/" + dir + "/body";
    a.setAttribute("download", "");
    note.appendChild(a);
    box.appendChild(note);
    box.appendChild(el("pre", body.binary ? hexdump(body.data) : body.data, body.binary ? "hex" : "text"));
  }

  async function showDetail(id, scroll) {
    let d;
    try {
      d = await api("/api/requests/" + Number(id));
    } catch (e) {
      $("d-message").textContent = String(e.message);
      return;
    }
    if (selected !== id) return;
    selectedDetail = d;
    $("detail-panel").hidden = false;
    $("d-title").textContent = "#" + d.id + " " + d.method + " " + d.path;
    $("d-meta").textContent =
      [
        d.host,
        "tunnel " + d.tunnel,
        d.peer ? "from " + d.peer : "",
        d.http_version,
        clock(d.time),
        statusText(d),
        duration(d.duration_ms),
        d.replay_of ? "replay of #" + d.replay_of : "",
        d.error ? "error: " + d.error : "",
      ]
        .filter((x) => x)
        .join(" · ");
    headersTable($("d-req-headers"), d.request.headers);
    bodyView($("d-req-body"), d.id, "request", d.request.body);
    headersTable($("d-resp-headers"), d.response ? d.response.headers : []);
    bodyView($("d-resp-body"), d.id, "response", d.response ? d.response.body : null);
    if (scroll) $("detail-panel").scrollIntoView({ block: "nearest" });
  }

  function select(id) {
    if (selected !== null && rows.get(selected)) rows.get(selected).tr.classList.remove("selected");
    selected = id;
    if (rows.get(id)) rows.get(id).tr.classList.add("selected");
    $("d-message").textContent = "";
    $("edit-form").hidden = true;
    showDetail(id, true);
  }

  async function replay(edits) {
    if (selected === null) return;
    const id = selected;
    $("d-message").textContent = "Replaying #" + id + "…";
    try {
      const r = await post("/api/requests/" + Number(id) + "/replay", edits || {});
      const st = r.request ? statusText(r.request) : "";
      $("d-message").textContent = "Replayed #" + id + " as #" + r.id + (st ? " → " + st : "");
      $("edit-form").hidden = true;
    } catch (e) {
      $("d-message").textContent = "Replay failed: " + e.message;
    }
  }

  function openEdit() {
    const d = selectedDetail;
    if (!d) return;
    $("e-method").value = d.method;
    $("e-path").value = d.path;
    $("e-headers").value = d.request.headers
      .filter((h) => !/^(content-length|transfer-encoding)$/i.test(h[0]))
      .map((h) => h[0] + ": " + h[1])
      .join("\n");
    const b = d.request.body;
    $("e-body").value = b && !b.binary ? b.data : "";
    $("e-body").disabled = !!(b && b.binary);
    $("e-body").placeholder = b && b.binary ? "binary body: replayed as captured" : "";
    $("edit-form").hidden = false;
    $("e-path").focus();
  }

  function sendEdit(ev) {
    ev.preventDefault();
    const d = selectedDetail;
    const headers = [];
    for (const line of $("e-headers").value.split("\n")) {
      if (!line.trim()) continue;
      const i = line.indexOf(":");
      if (i <= 0) {
        $("d-message").textContent = "A header line needs 'Name: value': " + line;
        return;
      }
      headers.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
    }
    const edits = { method: $("e-method").value.trim(), path: $("e-path").value.trim(), headers: headers };
    if (!$("e-body").disabled) edits.body = $("e-body").value;
    else if (d && d.request.body.binary && !d.request.body.truncated) edits.body_base64 = d.request.body.data;
    replay(edits);
  }

  // --- events --------------------------------------------------------------

  function setConn(text, cls) {
    $("conn").textContent = text;
    $("conn").className = "pill " + cls;
  }

  function connect() {
    events = new EventSource("/api/events");
    events.addEventListener("hello", (ev) => {
      const h = JSON.parse(ev.data);
      setConn("live", "pill-ok");
      showCapture(h.capture);
      showTunnels(h.tunnels);
      loadList().catch((e) => setConn(e.message, "pill-bad"));
    });
    events.addEventListener("request", (ev) => upsert(JSON.parse(ev.data)));
    events.addEventListener("clear", () => {
      resetList();
      selected = null;
      $("detail-panel").hidden = true;
    });
    events.addEventListener("tunnels", (ev) => showTunnels(JSON.parse(ev.data)));
    events.onerror = () => setConn("reconnecting", "pill-wait");
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("filter").addEventListener("input", refilter);
    $("status").addEventListener("change", refilter);
    $("replay").addEventListener("click", () => replay({}));
    $("edit").addEventListener("click", openEdit);
    $("edit-form").addEventListener("submit", sendEdit);
    $("e-cancel").addEventListener("click", () => ($("edit-form").hidden = true));
    $("close").addEventListener("click", () => {
      $("detail-panel").hidden = true;
      if (selected !== null && rows.get(selected)) rows.get(selected).tr.classList.remove("selected");
      selected = null;
    });
    $("clear").addEventListener("click", () =>
      post("/api/requests", {}, "DELETE").catch((e) => setConn(e.message, "pill-bad"))
    );
    counts();
    connect();
  });
})();
