// Cairn's web app: sign in with an API key, browse the folder tree of
// documents and threads, upload documents and watch their ingestion,
// search, ask in a thread with the answer streamed, and open each [n]
// marker's cited passage highlighted in its document version. Plain DOM,
// no framework; every string from the API is set as text, never as HTML.

import { ApiError, call, get, key, stream } from "./api.js";
import { utf16Span } from "./offsets.js";

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

// h builds an element: h("a", {href: "#"}, "text", child...). Attributes
// starting with "on" are listeners.
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

let toastTimer;
function toast(msg) {
  $("toast").textContent = msg;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { $("toast").textContent = ""; }, 5000);
}

// guard runs an async action and shows its failure; a 401 asks for a key.
async function guard(fn) {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      showLogin("That API key was not accepted.");
      return undefined;
    }
    toast(e.field ? `${e.message} (${e.field})` : e.message);
    throw e;
  }
}

// ---------------------------------------------------------------- sign in

function showLogin(error = "") {
  $("shell").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = error;
  $("api-key").focus();
}

async function signIn(k) {
  key.set(k);
  try {
    await get("/v1/tenant");
  } catch (e) {
    key.clear();
    showLogin(e instanceof ApiError && e.status === 401 ? "That API key was not accepted." : e.message);
    return;
  }
  $("login").hidden = true;
  await loadTree();
  $("shell").hidden = false;
  route();
}

// ------------------------------------------------------------------- tree

function folderNode() { return { folders: new Map(), items: [] }; }

function place(root, folder, item) {
  let node = root;
  for (const seg of folder.split("/").filter(Boolean)) {
    if (!node.folders.has(seg)) node.folders.set(seg, folderNode());
    node = node.folders.get(seg);
  }
  node.items.push(item);
}

function renderFolder(node) {
  const ul = h("ul");
  for (const [name, sub] of [...node.folders].sort(([a], [b]) => a.localeCompare(b))) {
    ul.append(h("li", {}, h("details", { open: true }, h("summary", {}, name), renderFolder(sub))));
  }
  for (const it of node.items.sort((a, b) => a.name.localeCompare(b.name))) {
    ul.append(h("li", {}, h("a", { href: it.href, "data-kind": it.kind }, it.name, " ", h("span", { class: "kind" }, it.kind))));
  }
  return ul;
}

async function loadTree() {
  const [docs, threads] = await guard(() => Promise.all([
    get("/v1/documents?limit=500"),
    get("/v1/threads?limit=100&sort_by=last_activity_at"),
  ]));
  const root = folderNode();
  for (const d of docs.data) place(root, d.folder, { name: d.name, kind: "document", href: `#/doc/${d.id}` });
  for (const t of threads.data) {
    const folder = t.materialized_path.slice(0, t.materialized_path.length - t.name.length - 1);
    place(root, folder, { name: t.name, kind: "thread", href: `#/thread/${t.id}` });
  }
  $("tree").replaceChildren(docs.data.length || threads.data.length ? renderFolder(root) : h("p", { class: "hint" }, "Nothing yet: upload a document."));
}

// ----------------------------------------------------------------- router

function view(...children) {
  $("view").replaceChildren(...children);
}

function route() {
  if (!key.get()) return showLogin();
  const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean);
  const params = new URLSearchParams(query);
  if (parts[0] === "thread" && parts[1]) return threadView(parts[1]);
  if (parts[0] === "doc" && parts[1]) return documentView(parts[1]);
  if (parts[0] === "upload") return uploadView(params);
  if (parts[0] === "search") return searchView();
  if (parts[0] === "new") return newThreadView();
  return homeView();
}

async function homeView() {
  const threads = await guard(() => get("/v1/threads?limit=10&sort_by=last_activity_at"));
  view(
    h("h2", {}, "Recent threads"),
    threads.data.length
      ? h("ul", {}, threads.data.map((t) => h("li", {}, h("a", { href: `#/thread/${t.id}` }, t.name), ` · ${t.message_count} messages`)))
      : h("p", { class: "hint" }, "No threads yet. Upload a document, then start a thread and ask about it."),
  );
}

// ----------------------------------------------------------------- upload

function uploadView(params) {
  const status = h("div", { role: "status", id: "upload-status" });
  const form = h("form", { id: "upload-form" },
    h("h2", {}, "Upload a document"),
    h("label", { for: "upload-file" }, "File (text, Markdown, HTML or PDF)"),
    h("input", { id: "upload-file", name: "file", type: "file", required: true }),
    h("div", { class: "row" },
      h("div", {}, h("label", { for: "upload-folder" }, "Folder"),
        h("input", { id: "upload-folder", name: "folder", value: params.get("folder") || "/kb" })),
      h("div", {}, h("label", { for: "upload-name" }, "Name (default: the file's)"),
        h("input", { id: "upload-name", name: "name", value: params.get("name") || "" }))),
    h("p", { class: "hint" }, "The same name in the same folder uploads a new version of that document."),
    h("button", { type: "submit" }, "Upload"),
    status);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const fd = new FormData();
    fd.append("folder", form.folder.value);
    if (form.name.value.trim()) fd.append("name", form.name.value.trim());
    fd.append("file", form.file.files[0]);
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const res = await guard(() => call("POST", "/v1/documents", fd));
      const link = h("a", { href: `#/doc/${res.document.id}` }, res.document.materialized_path);
      if (res.unchanged) {
        status.replaceChildren(h("p", {}, "Unchanged: ", link, ` is already version ${res.version.version_number}.`));
        return;
      }
      const bar = h("progress", { max: 1, value: 0, "aria-label": "Indexing progress" });
      const line = h("p", { id: "job-state" }, "queued");
      status.replaceChildren(h("p", {}, link, ` version ${res.version.version_number}`), bar, line);
      const job = await watchJob(res.job.id, (j) => {
        bar.max = Math.max(j.chunks_total, 1);
        bar.value = j.chunks_done;
        line.textContent = `${j.state}: ${j.chunks_done} / ${j.chunks_total} chunks`;
      });
      line.textContent = job.state === "succeeded" ? `indexed: ${job.chunks_total} chunks` : `failed: ${job.error || "unknown error"}`;
      line.dataset.state = job.state;
      await loadTree();
    } finally {
      button.disabled = false;
    }
  });
  view(form);
}

async function watchJob(id, onProgress) {
  for (;;) {
    const j = await guard(() => get(`/v1/ingest/jobs/${id}`));
    onProgress(j);
    if (j.state === "succeeded" || j.state === "failed") return j;
    await new Promise((r) => setTimeout(r, 400));
  }
}

// ----------------------------------------------------------------- search

function searchView() {
  const results = h("ol", { class: "hits", id: "hits" });
  const form = h("form", { id: "search-form" },
    h("h2", {}, "Search"),
    h("div", { class: "row" },
      h("div", {}, h("label", { for: "search-q" }, "Query"), h("input", { id: "search-q", name: "q", required: true })),
      h("div", {}, h("label", { for: "search-mode" }, "Mode"),
        h("select", { id: "search-mode", name: "mode" }, ["hybrid", "vector", "text"].map((m) => h("option", { value: m }, m)))),
      h("button", { type: "submit" }, "Search")),
    results);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const res = await guard(() => call("POST", "/v1/search", { query: form.q.value, mode: form.mode.value, top_k: 10 }));
    results.replaceChildren(...res.data.map((hit) => h("li", {},
      h("button", { type: "button", class: "quiet", onclick: () => openSpan(hit) }, `${hit.document_name} (v${hit.version_number})`),
      h("div", { class: "meta" }, hit.materialized_path, ` · score ${hit.score.toFixed(3)}`),
      h("div", { class: "snippet" }, hit.content))));
    if (!res.data.length) results.replaceChildren(h("li", {}, "No match."));
  });
  view(form);
  $("search-q").focus();
}

// ---------------------------------------------------------------- threads

function newThreadView() {
  const form = h("form", { id: "thread-form" },
    h("h2", {}, "New thread"),
    h("div", { class: "row" },
      h("div", {}, h("label", { for: "thread-name" }, "Name (empty for a generated one)"), h("input", { id: "thread-name", name: "name" })),
      h("div", {}, h("label", { for: "thread-folder" }, "Folder"), h("input", { id: "thread-folder", name: "folder", value: "/threads" })),
      h("button", { type: "submit" }, "Create")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { folder: form.folder.value };
    if (form.name.value.trim()) body.name = form.name.value.trim();
    const t = await guard(() => call("POST", "/v1/threads", body));
    await loadTree();
    location.hash = `#/thread/${t.id}`;
  });
  view(form);
  $("thread-name").focus();
}

// citationFor returns the citation the k-th marker of the text (the
// j-th one numbered n) stands for: by the citation's marker number when
// the API gives it, else by position (the k-th citation).
function citationFor(citations, n, j, k) {
  if (citations.some((c) => c.marker !== undefined && c.marker !== null)) {
    const same = citations.filter((c) => c.marker === n);
    return same[j] || same[0];
  }
  return citations[k];
}

function renderText(text, citations) {
  const out = h("div", { class: "text" });
  const seen = new Map();
  let last = 0;
  let k = 0;
  for (const m of text.matchAll(/\[(\d+)\]/g)) {
    const n = Number(m[1]);
    const j = seen.get(n) || 0;
    seen.set(n, j + 1);
    const c = citationFor(citations, n, j, k++);
    out.append(text.slice(last, m.index));
    last = m.index + m[0].length;
    if (!c) {
      out.append(m[0]);
      continue;
    }
    out.append(h("button", {
      type: "button", class: "marker", "data-marker": n, "aria-label": `Source ${n}: ${c.quote}`,
      title: c.quote, onclick: () => openCitation(c),
    }, `[${n}]`));
  }
  out.append(text.slice(last));
  return out;
}

function renderMessage(m) {
  const li = h("li", { class: `msg ${m.role.toLowerCase()}${m.content.is_error ? " error" : ""}`, "data-id": m.id || "" },
    h("div", { class: "who" }, m.role === "USER" ? "You" : m.role === "ASSISTANT" ? "Cairn" : m.role),
    renderText(m.content.text, m.content.citations || []));
  return li;
}

async function threadView(id) {
  const [t, page] = await guard(() => Promise.all([
    get(`/v1/threads/${id}`),
    get(`/v1/threads/${id}/messages?sort_dir=asc&limit=100&with_details=false`),
  ]));
  const list = h("ol", { class: "messages", id: "messages", "aria-live": "polite" }, page.data.map(renderMessage));
  const input = h("textarea", { id: "ask-input", name: "text", required: true, rows: 2, placeholder: "Ask a question…", "aria-label": "Question" });
  const send = h("button", { type: "submit", id: "ask-send" }, "Ask");
  const form = h("form", { class: "ask", id: "ask-form" }, input, send);
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); }
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send.disabled = true;
    const pendingUser = renderMessage({ role: "USER", content: { text } });
    const answer = h("li", { class: "msg assistant streaming", id: "streaming" }, h("div", { class: "who" }, "Cairn"), h("div", { class: "text" }, ""));
    list.append(pendingUser, answer);
    let streamed = "";
    try {
      await guard(() => stream(`/v1/threads/${id}/user_message`, { content: { text } }, (name, data) => {
        if (name === "user_message") pendingUser.replaceWith(renderMessage(data));
        else if (name === "delta") {
          streamed += data.text;
          answer.querySelector(".text").textContent = streamed;
        } else if (name === "assistant_message") {
          const done = renderMessage(data);
          done.classList.add("final");
          answer.replaceWith(done);
        } else if (name === "error") {
          answer.classList.add("error");
          answer.querySelector(".text").textContent = `${streamed}\n${data.detail}`;
        }
      }));
    } finally {
      send.disabled = false;
      input.focus();
      loadTree();
    }
  });
  view(h("h2", {}, t.name), h("p", { class: "meta" }, t.materialized_path), list, form);
  input.focus();
}

// -------------------------------------------------------------- documents

async function documentView(id) {
  let doc;
  try {
    doc = await get(`/v1/documents/${id}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return view(h("p", { class: "state deleted" }, "This document was deleted."));
    throw e;
  }
  const versions = await guard(() => get(`/v1/documents/${id}/versions`));
  const del = h("button", { type: "button", id: "delete-doc", class: "quiet" }, "Delete document");
  del.addEventListener("click", async () => {
    if (del.dataset.armed !== "yes") {
      del.dataset.armed = "yes";
      del.textContent = "Confirm: delete it with every version";
      return;
    }
    await guard(() => call("DELETE", `/v1/documents/${id}`));
    toast(`${doc.name} deleted`);
    await loadTree();
    view(h("p", { class: "state deleted", id: "doc-deleted" }, `${doc.materialized_path} was deleted.`));
  });
  const rows = versions.data.map((v) => h("tr", {},
    h("td", {}, h("button", { type: "button", class: "quiet", onclick: () => openVersion(doc, v.version_number) }, `v${v.version_number}`)),
    h("td", {}, v.state, v.is_current ? h("span", { class: "badge current" }, "current") : ""),
    h("td", {}, `${v.chunk_count} chunks`), h("td", {}, v.mime_type), h("td", {}, new Date(v.created_at).toLocaleString())));
  view(
    h("h2", {}, doc.name),
    h("p", { class: "meta" }, doc.materialized_path),
    h("table", { class: "versions" }, h("thead", {}, h("tr", {}, ["Version", "State", "Chunks", "Type", "Created"].map((x) => h("th", {}, x)))), h("tbody", {}, rows)),
    h("p", { class: "row" },
      h("a", { href: `#/upload?folder=${enc(doc.folder)}&name=${enc(doc.name)}` }, "Upload a new version"),
      del));
  if (doc.current_version_number) openVersion(doc, doc.current_version_number);
}

// ----------------------------------------------------------- source panel

function showSource(title, meta, badge) {
  $("shell").classList.remove("no-source");
  $("source").hidden = false;
  $("source-title").textContent = title;
  $("source-meta").replaceChildren(meta, badge || "");
  $("source-state").className = "state";
  $("source-state").textContent = "";
  $("source-text").replaceChildren();
}

function closeSource() {
  $("source").hidden = true;
  $("shell").classList.add("no-source");
}

function sourceGone(title, detail, quote) {
  showSource(title, "", h("span", { class: "badge deleted", id: "source-badge" }, "source deleted"));
  $("source-state").className = "state deleted";
  $("source-state").textContent = detail;
  if (quote) $("source-text").replaceChildren(h("q", {}, quote));
}

// renderSpan shows text with [start16, end16) highlighted and scrolled
// into view.
function renderSpan(text, start16, end16) {
  const mark = h("mark", { id: "highlight" }, text.slice(start16, end16));
  $("source-text").replaceChildren(text.slice(0, start16), mark, text.slice(end16));
  mark.scrollIntoView({ block: "center" });
  $("source-text").focus({ preventScroll: true });
}

async function versionText(docId, n) {
  return guard(() => get(`/v1/documents/${docId}/versions/${n}/text`));
}

async function openVersion(doc, n) {
  const v = await versionText(doc.id, n);
  showSource(`${doc.name}`, `v${n} · ${doc.materialized_path}`,
    h("span", { class: `badge ${v.is_current ? "current" : "outdated"}`, id: "source-badge" }, v.is_current ? "current version" : "outdated version"));
  $("source-text").replaceChildren(v.text || `(${v.state})`);
}

// openSpan shows a search hit: its chunk highlighted in its version.
async function openSpan(hit) {
  const v = await versionText(hit.document_id, hit.version_number);
  showSource(hit.document_name, `v${hit.version_number} · ${hit.materialized_path}`, "");
  const [s, e] = utf16Span(v.text, hit.start_offset, hit.end_offset - hit.start_offset);
  renderSpan(v.text, s, e);
}

// openCitation shows a citation's quote highlighted in its document
// version, with a badge when that version is not the current one and a
// clear state when the source is gone. It uses the enriched fields when
// the API gives them (version_start_utf16, length_utf16, is_current)
// and the chunk otherwise.
async function openCitation(c) {
  showSource("Loading the source…", "", "");
  if ("document_id" in c && c.document_id === null) {
    return sourceGone("Source deleted", "The cited document (or this version of it) was deleted; the quote is kept.", c.quote);
  }
  let chunk;
  try {
    chunk = await get(`/v1/chunks/${c.chunk_id}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      return sourceGone("Source deleted", "The cited document (or this version of it) was deleted; the quote is kept.", c.quote);
    }
    return guard(() => Promise.reject(e));
  }
  const [v, doc] = await Promise.all([
    versionText(chunk.document_id, chunk.version_number),
    get(`/v1/documents/${chunk.document_id}`).catch(() => null),
  ]);
  const current = c.is_current ?? chunk.is_current;
  const badge = current
    ? h("span", { class: "badge current", id: "source-badge" }, "current version")
    : h("span", { class: "badge outdated", id: "source-badge" },
      `outdated: cites v${chunk.version_number}${doc?.current_version_number ? `, current is v${doc.current_version_number}` : ""}`);
  showSource(chunk.document_name, `v${chunk.version_number} · ${chunk.materialized_path}`, badge);
  let s, e;
  if (Number.isInteger(c.version_start_utf16) && Number.isInteger(c.length_utf16)) {
    [s, e] = [c.version_start_utf16, c.version_start_utf16 + c.length_utf16];
  } else {
    [s, e] = utf16Span(v.text, chunk.start_offset + c.start_char, c.length);
  }
  renderSpan(v.text, s, e);
}

// ------------------------------------------------------------------ start

$("login-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  signIn($("api-key").value.trim());
});
$("logout").addEventListener("click", () => { key.clear(); showLogin(); });
$("new-thread").addEventListener("click", () => { location.hash = "#/new"; });
$("refresh-tree").addEventListener("click", () => loadTree());
$("source-close").addEventListener("click", closeSource);
document.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape" && !$("source").hidden) closeSource();
});
window.addEventListener("hashchange", () => { if (!$("shell").hidden) route(); });
$("shell").classList.add("no-source");
if (key.get()) signIn(key.get()); else showLogin();
