/* 济南高新区政策问答: the staff console at /admin.
 *
 * The admin token is kept in sessionStorage (this tab only) and sent as a Bearer header.
 * Everything from the server or from users (titles, questions, answers, error messages) is
 * put into the page with textContent; nothing is parsed as HTML.
 */
(function () {
  "use strict";

  const TOKEN_KEY = "policybot.adminToken";
  const POLL_MS = 400;
  const STAGES = {
    starting: "准备中", chunked: "已切分段落", embedding: "正在计算向量",
    embedded: "向量已完成", published: "已发布新索引",
  };
  const KINDS = { reindex: "重建索引", upload: "上传", delete: "删除" };
  const STATUSES = { running: "进行中", done: "完成", failed: "失败" };

  const $ = (id) => document.getElementById(id);
  const signin = $("signin");
  const consoleView = $("console");
  let token = sessionStorage.getItem(TOKEN_KEY) || "";
  let documents = [];

  /* ---------- small helpers ---------- */

  function el(tag, props, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "onclick") node.addEventListener("click", value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of [].concat(children || [])) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function show(node, text, kind) {
    node.textContent = text;
    node.className = "alert" + (kind ? " alert--" + kind : "");
    node.hidden = !text;
  }

  function when(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    return isNaN(date) ? iso : date.toLocaleString("zh-CN", { hour12: false });
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  function documentPath(id) {
    return "/api/v1/documents/" + id.split("/").map(encodeURIComponent).join("/");
  }

  /* ---------- API ---------- */

  async function api(path, options) {
    const headers = Object.assign({ Authorization: "Bearer " + token },
                                  (options && options.headers) || {});
    let response;
    try {
      response = await fetch(path, Object.assign({}, options, { headers }));
    } catch (error) {
      return { ok: false, status: 0, error: "无法连接服务器，请检查网络后重试。" };
    }
    if (response.status === 401) {
      signOut("令牌不正确或已更换，请重新登录。");
      return { ok: false, status: 401, error: "令牌不正确" };
    }
    let body = null;
    const type = response.headers.get("content-type") || "";
    if (type.includes("json")) body = await response.json().catch(() => null);
    const error = response.ok ? "" : (body && body.error) || "服务器错误（" + response.status + "）";
    return { ok: response.ok, status: response.status, body, error, response };
  }

  async function download(path) {
    const result = await api(path);
    if (!result.ok) {
      show($("console-error"), result.error, "error");
      return;
    }
    const blob = await result.response.blob();
    const disposition = result.response.headers.get("content-disposition") || "";
    const match = /filename="([^"]+)"/.exec(disposition);
    const link = el("a", { href: URL.createObjectURL(blob), download: match ? match[1] : "export.csv" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }

  /* ---------- sign in / out ---------- */

  async function trySignIn(candidate) {
    token = candidate;
    let response;
    try {
      response = await fetch("/api/v1/reindex?limit=1", { headers: { Authorization: "Bearer " + token } });
    } catch (error) {
      return "无法连接服务器，请检查网络后重试。";
    }
    if (response.ok) return "";
    if (response.status === 401) return "令牌不正确，请检查后重新输入。";
    const body = await response.json().catch(() => null);
    return (body && body.error) || "登录失败（" + response.status + "）";
  }

  async function onSignIn(event) {
    event.preventDefault();
    const candidate = $("token").value.trim();
    if (!candidate) {
      show($("signin-error"), "请输入管理令牌。", "error");
      return;
    }
    $("signin-button").disabled = true;
    const problem = await trySignIn(candidate);
    $("signin-button").disabled = false;
    if (problem) {
      token = "";
      show($("signin-error"), problem, "error");
      $("token").select();
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, candidate);
    $("token").value = "";
    enterConsole();
  }

  function signOut(message) {
    token = "";
    sessionStorage.removeItem(TOKEN_KEY);
    consoleView.hidden = true;
    signin.hidden = false;
    show($("signin-error"), message || "", "error");
    $("token").focus();
  }

  function enterConsole() {
    signin.hidden = true;
    consoleView.hidden = false;
    show($("signin-error"), "", null);
    selectView("documents");
  }

  /* ---------- views ---------- */

  const loaders = {
    documents: loadDocuments, reindex: loadJobs, feedback: loadFeedback, unanswered: loadUnanswered,
  };

  function selectView(name) {
    for (const tab of document.querySelectorAll(".tab")) {
      const selected = tab.dataset.view === name;
      tab.setAttribute("aria-selected", String(selected));
      $("view-" + tab.dataset.view).hidden = !selected;
    }
    show($("console-error"), "", null);
    loaders[name]();
  }

  /* ---------- documents ---------- */

  async function loadDocuments() {
    const result = await api("/api/v1/documents");
    if (!result.ok) {
      show($("console-error"), result.error, "error");
      return;
    }
    documents = result.body.documents;
    renderDocuments();
  }

  function renderDocuments() {
    const needle = $("documents-filter").value.trim().toLowerCase();
    const shown = documents.filter((d) => !needle ||
      [d.title, d.source, d.document_id, d.date].some((v) => (v || "").toLowerCase().includes(needle)));
    $("documents-count").textContent = needle
      ? "（" + shown.length + " / " + documents.length + "）" : "（" + documents.length + "）";
    $("documents-body").replaceChildren(...shown.map((d) => el("tr", { "data-id": d.document_id }, [
      el("td", { text: d.title }),
      el("td", { text: d.source }),
      el("td", { text: d.date }),
      el("td", { class: "num", text: String(d.passages) }),
      el("td", {}, el("code", { text: d.document_id })),
      el("td", {}, el("button", {
        type: "button", class: "button button--ghost button--small", text: "删除",
        "aria-label": "删除 " + d.title, onclick: () => confirmDelete(d),
      })),
    ])));
  }

  function confirmDelete(doc) {
    const dialog = $("confirm-dialog");
    $("confirm-text").textContent = "删除《" + doc.title + "》（" + doc.document_id +
      "）？文件将从语料中移除，并重建索引。";
    dialog.returnValue = "";
    dialog.onclose = () => {
      if (dialog.returnValue === "ok") deleteDocument(doc);
    };
    dialog.showModal();
  }

  async function deleteDocument(doc) {
    show($("upload-result"), "正在删除《" + doc.title + "》并重建索引…", null);
    const result = await api(documentPath(doc.document_id), { method: "DELETE" });
    if (result.ok) show($("upload-result"), "已删除《" + doc.title + "》。", "ok");
    else show($("upload-result"), result.error, "error");
    loadDocuments();
  }

  let chosenFile = null;

  function choose(file) {
    chosenFile = file || null;
    $("upload-chosen").textContent = chosenFile
      ? chosenFile.name + "（" + Math.max(1, Math.round(chosenFile.size / 1024)) + " KB）" : "";
    $("upload-button").disabled = !chosenFile;
  }

  function setupDropzone() {
    const zone = $("dropzone");
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      zone.classList.add("dropzone--over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("dropzone--over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("dropzone--over");
      if (event.dataTransfer.files.length) choose(event.dataTransfer.files[0]);
    });
    zone.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        $("upload-file").click();
      }
    });
    $("upload-file").addEventListener("change", () => choose($("upload-file").files[0]));
  }

  function progress(prefix, label, percent) {
    $(prefix + "-progress").hidden = false;
    $(prefix + "-stage").textContent = label;
    $(prefix + "-bar").value = Math.max(0, Math.min(100, percent));
  }

  function jobLabel(job) {
    const stage = STAGES[job.stage] || job.stage;
    return job.total ? stage + "：" + job.done + " / " + job.total + " 个段落" : stage;
  }

  function onUpload(event) {
    event.preventDefault();
    if (!chosenFile) return;
    const form = new FormData();
    form.append("file", chosenFile, chosenFile.name);
    for (const field of ["title", "source", "date"]) {
      const value = $("upload-" + field).value.trim();
      if (value) form.append(field, value);
    }
    const startedAt = Date.now();
    let polling = false;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/documents");
    xhr.setRequestHeader("Authorization", "Bearer " + token);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) {
        const percent = Math.round((100 * e.loaded) / e.total);
        progress("upload", "上传中：" + percent + "%", percent);
      }
    };
    xhr.upload.onload = () => {
      progress("upload", "上传完成，正在重建索引…", 0);
      polling = true;
      (async () => {
        while (polling) {
          const result = await api("/api/v1/reindex?limit=3");
          const job = result.ok && result.body.jobs.find((j) => j.kind === "upload" &&
            j.status === "running" && Date.parse(j.started) >= startedAt - 5000);
          if (job && polling) {
            progress("upload", "重建索引 · " + jobLabel(job), job.total ? (100 * job.done) / job.total : 0);
          }
          await sleep(POLL_MS);
        }
      })();
    };
    xhr.onloadend = () => {
      polling = false;
      $("upload-button").disabled = false;
      if (xhr.status === 401) {
        signOut("令牌不正确或已更换，请重新登录。");
        return;
      }
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (error) { body = null; }
      if (xhr.status === 201 || xhr.status === 200) {
        progress("upload", "完成", 100);
        const what = xhr.status === 201 ? "已加入索引" : "内容相同，已在索引中";
        show($("upload-result"), what + "：《" + body.title + "》，" + body.passages +
          " 个段落，编号 " + body.document_id, "ok");
        $("upload-form").reset();
        choose(null);
        loadDocuments();
      } else {
        $("upload-progress").hidden = true;
        show($("upload-result"), xhr.status === 0 ? "上传中断：无法连接服务器。"
          : (body && body.error) || "上传失败（" + xhr.status + "）", "error");
      }
    };
    $("upload-button").disabled = true;
    show($("upload-result"), "", null);
    progress("upload", "上传中：0%", 0);
    xhr.send(form);
  }

  /* ---------- reindex ---------- */

  async function loadJobs() {
    const result = await api("/api/v1/reindex?limit=10");
    if (!result.ok) {
      show($("console-error"), result.error, "error");
      return [];
    }
    $("jobs-body").replaceChildren(...result.body.jobs.map((job) => el("tr", {}, [
      el("td", { text: when(job.started) }),
      el("td", { text: KINDS[job.kind] || job.kind }),
      el("td", { class: "status--" + job.status, text: STATUSES[job.status] || job.status }),
      el("td", { class: "num", text: job.result ? String(job.result.passages) : job.total ? String(job.total) : "" }),
      el("td", { class: "num", text: job.seconds === null ? "" : job.seconds.toFixed(1) + " 秒" }),
      el("td", { text: jobNote(job) }),
    ])));
    const running = result.body.jobs.find((job) => job.kind === "reindex" && job.status === "running");
    if (running && !watching) watchJob(running.job);
    return result.body.jobs;
  }

  function jobNote(job) {
    if (job.error) return job.error;
    if (job.status === "running") return jobLabel(job);
    if (!job.result) return job.kind === "reindex" ? "" : "文档变更后自动重建";
    const parts = ["版本 " + job.result.version, "新计算 " + job.result.embedded + " 个向量"];
    if (job.result.skipped && job.result.skipped.length) {
      parts.push("跳过无法读取的文件：" + job.result.skipped.join("；"));
    }
    return parts.join("，");
  }

  let watching = false;

  async function watchJob(id) {
    watching = true;
    $("reindex-button").disabled = true;
    show($("reindex-result"), "", null);
    let job = null;
    while (true) {
      const result = await api("/api/v1/reindex/" + encodeURIComponent(id));
      if (!result.ok) {
        show($("reindex-result"), result.error, "error");
        break;
      }
      job = result.body;
      progress("reindex", jobLabel(job), job.total ? (100 * job.done) / job.total : 0);
      if (job.status !== "running") break;
      await sleep(POLL_MS);
    }
    watching = false;
    $("reindex-button").disabled = false;
    if (job && job.status === "done") {
      progress("reindex", "完成", 100);
      show($("reindex-result"), "索引已重建：" + jobNote(job), "ok");
    } else if (job) {
      show($("reindex-result"), "重建失败：" + job.error, "error");
    }
    loadJobs();
  }

  async function startReindex() {
    const result = await api("/api/v1/reindex", { method: "POST" });
    if (!result.ok) {
      show($("reindex-result"), result.error, "error");
      return;
    }
    watchJob(result.body.job);
  }

  /* ---------- feedback ---------- */

  function feedbackQuery() {
    const helpful = $("feedback-filter").value;
    return helpful ? "helpful=" + helpful : "";
  }

  async function loadFeedback() {
    const query = feedbackQuery();
    const result = await api("/api/v1/feedback?limit=200" + (query ? "&" + query : ""));
    if (!result.ok) {
      show($("console-error"), result.error, "error");
      return;
    }
    $("feedback-count").textContent = "（" + result.body.total + "）";
    const items = result.body.items.map((item) => el("li", { class: "item" }, [
      el("div", { class: "item__head" }, [
        el("span", { class: item.helpful ? "item__rating--up" : "item__rating--down",
                     text: item.helpful ? "有帮助" : "没帮助" }),
        el("span", { text: when(item.created) }),
        el("span", { text: "#" + item.id }),
      ]),
      el("p", { class: "item__question", text: "问：" + item.question }),
      el("p", { class: "item__answer", text: "答：" + item.answer }),
      item.passage_ids.length ? el("p", { class: "item__meta", text: "引用段落：" + item.passage_ids.join("，") }) : null,
      item.comment ? el("p", { class: "item__meta", text: "留言：" + item.comment }) : null,
    ]));
    if (!items.length) items.push(el("li", { class: "muted", text: "暂无反馈。" }));
    $("feedback-list").replaceChildren(...items);
  }

  /* ---------- unanswered ---------- */

  async function loadUnanswered() {
    const result = await api("/api/v1/unanswered?limit=500");
    if (!result.ok) {
      show($("console-error"), result.error, "error");
      return;
    }
    const body = result.body;
    $("unanswered-count").textContent = "（" + body.total + "）";
    if (!body.enabled) {
      $("unanswered-note").textContent = "未开启记录（服务器设置了 POLICYBOT_QUESTION_LOG=off）。";
    }
    const rows = body.items.map((item) => el("tr", {}, [
      el("td", { text: item.question }),
      el("td", { class: "num", text: String(item.count) }),
      el("td", { text: when(item.last_asked) }),
      el("td", { text: when(item.first_asked) }),
    ]));
    if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: "4", class: "muted", text: "暂无未能回答的问题。" })));
    $("unanswered-body").replaceChildren(...rows);
  }

  /* ---------- wiring ---------- */

  $("signin-form").addEventListener("submit", onSignIn);
  $("signout").addEventListener("click", () => signOut(""));
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => selectView(tab.dataset.view));
  }
  $("documents-filter").addEventListener("input", renderDocuments);
  $("upload-form").addEventListener("submit", onUpload);
  $("reindex-button").addEventListener("click", startReindex);
  $("feedback-filter").addEventListener("change", loadFeedback);
  $("feedback-export").addEventListener("click", () => {
    const query = feedbackQuery();
    download("/api/v1/feedback?format=csv" + (query ? "&" + query : ""));
  });
  $("unanswered-export").addEventListener("click", () => download("/api/v1/unanswered?format=csv"));
  setupDropzone();

  if (token) {
    trySignIn(token).then((problem) => (problem ? signOut(problem) : enterConsole()));
  } else {
    $("token").focus();
  }
})();
