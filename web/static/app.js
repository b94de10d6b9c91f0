/* 济南高新区政策问答: the chat page.
 *
 * Every piece of text from users or the server (questions, answers, passages, errors) is
 * put into the page with textContent / append(string); nothing is parsed as HTML.
 */
(function () {
  "use strict";

  const ASK_URL = "/api/v1/ask";
  const FEEDBACK_URL = "/api/v1/feedback";
  const TAXONOMY_URL = "/api/v1/taxonomy";
  const PROFILE_KEY = "policybot.profile";
  const CONVERSATION_KEY = "policybot.conversation";
  const HISTORY_TURNS = 6;  // earlier turns sent with a question (the API's limit)
  const KEPT_TURNS = 12;  // turns kept in the tab and shown again after a reload
  const HISTORY_ANSWER_CHARS = 2000;
  const FACETS = ["industries", "qualifications", "needs"];
  const TIMEOUT_MS = 45000;
  const MARKER = /\[(\d{1,3})\]/g;
  const HELP_CHANNELS = [
    "济南高新区“泉惠企”企业服务站",
    "“首席政策官”团队，一对一解答政策",
    "线上“泉惠企”平台，可查询全部惠企政策",
  ];

  const form = document.getElementById("ask-form");
  const input = document.getElementById("question");
  const sendButton = document.getElementById("send");
  const counter = document.getElementById("question-count");
  const includeExpired = document.getElementById("include-expired");
  const hint = document.getElementById("question-hint");
  const conversation = document.getElementById("conversation");
  const dialog = document.getElementById("passage-dialog");
  const profilePanel = document.getElementById("profile-panel");
  const profileFacets = document.getElementById("profile-facets");
  const foreignStaff = document.getElementById("profile-foreign-staff");
  const profileActive = document.getElementById("profile-active");
  let facetLabels = null;  // facet name -> label, once the taxonomy has loaded
  const maxChars = Number(input.dataset.max) || 500;
  const defaultHint = hint.textContent;
  let pending = false;
  let dialogOpener = null;
  let turns = [];  // [{question, data}] of this tab's conversation, oldest first

  /* ---------- small DOM helpers ---------- */

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

  function charCount(text) {
    return Array.from(text).length;
  }

  /* ---------- composer ---------- */

  function updateComposer() {
    const count = charCount(input.value.trim());
    const over = count - maxChars;
    counter.textContent = count + "/" + maxChars;
    counter.classList.toggle("composer__count--over", over > 0);
    input.setAttribute("aria-invalid", over > 0 ? "true" : "false");
    hint.textContent = over > 0 ? "已超出 " + over + " 字，请精简到 " + maxChars + " 字以内" : defaultHint;
    hint.classList.toggle("composer__hint--error", over > 0);
    sendButton.disabled = pending || count === 0;
  }

  function submitFromComposer() {
    const question = input.value.trim();
    if (!question) {
      hint.textContent = "请先输入问题";
      hint.classList.add("composer__hint--error");
      input.focus();
      return;
    }
    if (pending) return;
    input.value = "";
    updateComposer();
    ask(question, null);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submitFromComposer();
  });

  input.addEventListener("input", updateComposer);

  input.addEventListener("keydown", function (event) {
    // isComposing / 229: Enter that confirms a Chinese IME candidate must not send.
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) {
      return;
    }
    event.preventDefault();
    submitFromComposer();
  });

  for (const button of document.querySelectorAll(".example")) {
    button.addEventListener("click", function () {
      if (pending) return;
      ask(button.dataset.question, null);
    });
  }

  /* ---------- the enterprise profile panel ---------- */

  function storedProfile() {
    try {
      const value = JSON.parse(localStorage.getItem(PROFILE_KEY) || "null");
      return value && typeof value === "object" ? value : {};
    } catch (_) {
      return {};  // storage blocked or an unreadable value: start empty
    }
  }

  function storeProfile(profile) {
    try {
      if (profile) localStorage.setItem(PROFILE_KEY, JSON.stringify(profile));
      else localStorage.removeItem(PROFILE_KEY);
    } catch (_) {
      // storage blocked (private mode): the panel still works for this page
    }
  }

  /** The selected profile as /api/v1/ask takes it, or null when nothing is selected. */
  function currentProfile() {
    if (!facetLabels) return null;
    const profile = {};
    for (const facet of FACETS) {
      const boxes = profileFacets.querySelectorAll("input[data-facet='" + facet + "']:checked");
      const values = Array.from(boxes, function (box) { return box.value; });
      if (values.length) profile[facet] = values;
    }
    if (foreignStaff.checked) profile.foreign_staff = true;
    return Object.keys(profile).length ? profile : null;
  }

  function describeProfile(profile, withLabels) {
    const parts = FACETS.filter(function (facet) { return profile[facet]; }).map(function (facet) {
      const values = profile[facet].join("、");
      return withLabels ? facetLabels[facet] + "：" + values : values;
    });
    if (profile.foreign_staff) parts.push("有外籍员工");
    return parts.join(withLabels ? "；" : "、");
  }

  function updateProfile() {
    const profile = currentProfile();
    storeProfile(profile);
    const count = profile ? profilePanel.querySelectorAll("input:checked").length : 0;
    document.getElementById("profile-count").textContent = count ? "已选 " + count + " 项" : "未设置";
    document.getElementById("profile-summary").textContent = profile
      ? "已选：" + describeProfile(profile, true)
      : "未选择：提问时不附带企业画像。";
    document.getElementById("profile-active-text").textContent = profile
      ? "企业画像：" + describeProfile(profile, false) : "";
    profileActive.hidden = !profile;
    profilePanel.classList.toggle("profile--set", Boolean(profile));
  }

  function facetFieldset(facet, stored) {
    const chosen = Array.isArray(stored[facet.name]) ? stored[facet.name] : [];
    return el("fieldset", { class: "profile__facet" }, [
      el("legend", { class: "profile__legend", text: facet.label }),
      el("div", { class: "profile__options" }, facet.values.map(function (value) {
        return el("label", {
          class: "chip",
          title: value.synonyms.length ? "也称：" + value.synonyms.join("、") : null,
        }, [
          el("input", { type: "checkbox", name: facet.name, value: value.name,
                        "data-facet": facet.name, checked: chosen.includes(value.name) }),
          el("span", { text: value.name }),
        ]);
      })),
    ]);
  }

  async function loadProfilePanel() {
    let data = null;
    try {
      const response = await fetch(TAXONOMY_URL, { headers: { "Accept": "application/json" } });
      data = response.ok ? await response.json() : null;
    } catch (_) {
      data = null;
    }
    if (!data || !Array.isArray(data.facets)) return;  // no panel; questions go without one
    const stored = storedProfile();
    const facets = data.facets.filter(function (facet) { return FACETS.includes(facet.name); });
    facetLabels = Object.fromEntries(facets.map(function (facet) { return [facet.name, facet.label]; }));
    profileFacets.replaceChildren(...facets.map(function (facet) { return facetFieldset(facet, stored); }));
    foreignStaff.checked = stored.foreign_staff === true;
    profilePanel.hidden = false;
    updateProfile();  // also drops stored values the taxonomy no longer has
  }

  profilePanel.addEventListener("change", updateProfile);

  document.getElementById("profile-clear").addEventListener("click", function () {
    for (const box of profilePanel.querySelectorAll("input:checked")) box.checked = false;
    updateProfile();
  });

  document.getElementById("profile-edit").addEventListener("click", function () {
    profilePanel.open = true;
    profilePanel.scrollIntoView({ block: "nearest" });
    profilePanel.querySelector("summary").focus();
  });

  /* ---------- the conversation, kept in this tab ---------- */

  function loadConversation() {
    try {
      const value = JSON.parse(sessionStorage.getItem(CONVERSATION_KEY) || "[]");
      return Array.isArray(value) ? value.filter(function (turn) {
        return turn && typeof turn.question === "string" && turn.data &&
          typeof turn.data.answer === "string";
      }) : [];
    } catch (_) {
      return [];
    }
  }

  function saveConversation() {
    try {
      if (turns.length) sessionStorage.setItem(CONVERSATION_KEY, JSON.stringify(turns.slice(-KEPT_TURNS)));
      else sessionStorage.removeItem(CONVERSATION_KEY);
    } catch (_) {
      // storage blocked or full: the conversation still works until the tab closes
    }
  }

  /** The last turns as /api/v1/ask takes them. */
  function history() {
    return turns.slice(-HISTORY_TURNS).map(function (turn) {
      return { question: turn.question, answer: turn.data.answer.slice(0, HISTORY_ANSWER_CHARS) };
    });
  }

  function rememberTurn(question, data) {
    turns.push({ question: question, data: data });
    turns = turns.slice(-KEPT_TURNS);
    saveConversation();
  }

  function restoreConversation() {
    turns = loadConversation();
    for (const turn of turns) {
      addTurn(turn.question).querySelector(".turn__answer")
        .replaceChildren(renderAnswer(turn.question, turn.data));
    }
  }

  document.getElementById("new-conversation").addEventListener("click", function () {
    if (pending) return;
    turns = [];
    saveConversation();
    conversation.replaceChildren();
    input.focus();
  });

  /* ---------- asking ---------- */

  async function postJSON(url, body) {
    const controller = new AbortController();
    const timer = setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(body),
        credentials: "same-origin",
        signal: controller.signal,
      });
      let data = null;
      try {
        data = await response.json();
      } catch (_) {
        data = null;
      }
      return { response: response, data: data };
    } finally {
      clearTimeout(timer);
    }
  }

  function addTurn(question) {
    const slot = el("div", { class: "turn__answer" });
    const turn = el("li", { class: "turn" }, [
      el("div", { class: "bubble bubble--question" }, [
        el("span", { class: "visually-hidden", text: "问：" }),
        el("p", { class: "bubble__text", text: question }),
      ]),
      slot,
    ]);
    conversation.append(turn);
    return turn;
  }

  function setPending(value) {
    pending = value;
    conversation.setAttribute("aria-busy", value ? "true" : "false");
    for (const button of document.querySelectorAll(".example")) button.disabled = value;
    updateComposer();
  }

  async function ask(question, existingTurn) {
    setPending(true);
    const turn = existingTurn || addTurn(question);
    const slot = turn.querySelector(".turn__answer");
    slot.replaceChildren(el("div", { class: "answer answer--pending", "aria-busy": "true" }, [
      el("span", { class: "spinner", "aria-hidden": "true" }),
      el("span", { text: "正在检索政策文本…" }),
    ]));
    turn.scrollIntoView({ block: "nearest" });
    try {
      const body = { question: question, stream: true };
      if (includeExpired && includeExpired.checked) body.include_expired = true;
      const earlier = history();
      if (earlier.length) body.history = earlier;
      const profile = currentProfile();
      if (profile) body.profile = profile;
      const result = await postStream(ASK_URL, body, slot, question);
      if (result.data && typeof result.data.answer === "string") {
        slot.replaceChildren(renderAnswer(question, result.data));
        rememberTurn(question, result.data);
      } else if (result.streamError) {
        slot.replaceChildren(renderError(question, turn, "回答过程中出错了，请重试。",
                                         result.streamError, false));
      } else {
        const status = result.response.status;
        const detail = result.data && result.data.error ? String(result.data.error) : "";
        const rejected = status >= 400 && status < 500 && status !== 429;
        slot.replaceChildren(
          renderError(question, turn, describeStatus(status, question), detail, rejected));
      }
    } catch (error) {
      const timedOut = error && error.name === "AbortError";
      const message = timedOut
        ? "等待回答超时，问题可能没有处理完。请重试。"
        : "网络连接中断，问题没有发出。请检查网络后重试。";
      slot.replaceChildren(renderError(question, turn, message, "", false));
    } finally {
      setPending(false);
    }
    turn.scrollIntoView({ block: "start" });
  }

  /**
   * POST with stream: true and read the text/event-stream: each `sentence` is shown as it
   * arrives; `done` carries the same answer a plain request returns. An error status comes
   * back as JSON (before any stream), as for a plain request.
   */
  async function postStream(url, body, slot, question) {
    const controller = new AbortController();
    const timer = setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
        body: JSON.stringify(body),
        credentials: "same-origin",
        signal: controller.signal,
      });
      const type = response.headers.get("content-type") || "";
      if (!response.ok || !type.startsWith("text/event-stream") || !response.body) {
        let data = null;
        try { data = await response.json(); } catch (_) { data = null; }
        return { response: response, data: response.ok ? data : (data && data.error ? data : null) };
      }
      const draft = new Draft(slot);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const chunk = await reader.read();
        buffer += decoder.decode(chunk.value || new Uint8Array(), { stream: !chunk.done });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const event = parseEvent(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          if (!event) continue;
          if (event.name === "sentence") draft.add(event.data);
          else if (event.name === "done") return { response: response, data: event.data };
          else if (event.name === "error") {
            return { response: response, data: null, streamError: String(event.data.error || "") };
          }
        }
        if (chunk.done) break;
      }
      return { response: response, data: null, streamError: "回答没有完整送达" };
    } finally {
      clearTimeout(timer);
    }
  }

  function parseEvent(frame) {
    let name = "message";
    const lines = [];
    for (const line of frame.split("\n")) {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) lines.push(line.slice(5).trim());
    }
    if (!lines.length) return null;
    try {
      return { name: name, data: JSON.parse(lines.join("\n")) };
    } catch (_) {
      return null;
    }
  }

  /** The answer while it streams in: verified sentences appended as they arrive. */
  function Draft(slot) {
    this.slot = slot;
    this.citations = [];
    this.text = "";
    this.node = null;
  }

  Draft.prototype.add = function (sentence) {
    if (!sentence || typeof sentence.text !== "string") return;
    this.citations = this.citations.concat(sentence.citations || []);
    this.text += sentence.text;
    if (!this.node) {
      this.node = el("article", { class: "answer answer--streaming", "aria-busy": "true" });
      this.slot.replaceChildren(this.node);
    }
    this.node.replaceChildren(answerText(this.text, groupByMarker(this.citations)));
  };

  function describeStatus(status, question) {
    const length = charCount(question);
    if (status === 422 && length > maxChars) {
      return "问题有 " + length + " 字，超过了 " + maxChars + " 字的上限。请精简后重新提问。";
    }
    if (status === 400 || status === 422) return "问题未被受理，请修改后重新提问。";
    if (status === 413) return "提交的内容过长，服务器拒绝接收。请精简问题后重试。";
    if (status === 429) return "提问过于频繁，请稍等片刻再试。";
    if (status === 503) return "服务暂时不可用：政策文本索引正在加载或尚未建立。请稍后重试。";
    return "服务器出错了（" + status + "），请稍后重试。";
  }

  /* ---------- rendering an answer ---------- */

  function groupByMarker(citations) {
    const groups = new Map();
    for (const citation of citations || []) {
      if (!groups.has(citation.marker)) groups.set(citation.marker, []);
      groups.get(citation.marker).push(citation);
    }
    return groups;
  }

  function markerButton(marker, group) {
    return el("button", {
      type: "button",
      class: "marker",
      "data-marker": marker,
      "aria-label": "查看出处 " + marker + "：" + group[0].title,
      "aria-haspopup": "dialog",
      text: "[" + marker + "]",
      onclick: function (event) { openPassage(group, event.currentTarget); },
    });
  }

  function withMarkers(node, text, groups) {
    let last = 0;
    for (const match of text.matchAll(MARKER)) {
      const group = groups.get(Number(match[1]));
      if (!group) continue;
      node.append(text.slice(last, match.index), markerButton(match[1], group));
      last = match.index + match[0].length;
    }
    node.append(text.slice(last));
    return node;
  }

  /** A one-paragraph answer, or a list answer's lines: 【group】 headings and "· " items. */
  function answerText(text, groups) {
    if (!text.includes("\n")) return withMarkers(el("p", { class: "answer__text" }), text, groups);
    const body = el("div", { class: "answer__text answer__text--list" });
    let list = null;
    for (const line of text.split("\n")) {
      if (line.startsWith("· ")) {
        if (!list) body.append(list = el("ul", { class: "answer__items" }));
        list.append(withMarkers(el("li"), line.slice(2), groups));
        continue;
      }
      list = null;
      const heading = /^【(.+)】$/.exec(line);
      body.append(heading
        ? el("p", { class: "answer__group", text: heading[1] })
        : withMarkers(el("p"), line, groups));
    }
    return body;
  }

  function sourceList(groups) {
    const list = el("ol", { class: "sources__list" });
    for (const [marker, group] of groups) {
      const first = group[0];
      list.append(el("li", {}, el("button", {
        type: "button",
        class: "source-card",
        "data-marker": marker,
        "aria-haspopup": "dialog",
        onclick: function (event) { openPassage(group, event.currentTarget); },
      }, [
        el("span", { class: "source-card__marker", text: "[" + marker + "]" }),
        el("span", { class: "source-card__body" }, [
          el("span", { class: "source-card__title", text: first.title }),
          el("span", { class: "source-card__meta", text: [first.date, first.heading].filter(Boolean).join(" · ") }),
          policyLine(first.policy),
          el("span", { class: "source-card__quote", text: "“" + group.map(function (c) { return c.quote; }).join("……") + "”" }),
        ]),
        el("span", { class: "source-card__open", "aria-hidden": "true", text: "查看原文" }),
      ])));
    }
    return el("div", { class: "sources" }, [el("h3", { class: "sources__title", text: "出处" }), list]);
  }

  /** 发文机关 · 文号 · 发布日期 and the status of a cited notice (text only); lapsed
   *  notices (已失效 / 已被替代) get a warning badge. */
  function policyLine(policy) {
    if (!policy) return null;
    const known = [policy.agency, policy.doc_number, policy.issued ? policy.issued + " 发布" : null,
      policy.expires ? "有效期至 " + policy.expires : null].filter(Boolean);
    const lapsed = policy.status === "expired" || policy.status === "replaced";
    if (!known.length && !lapsed) return null;
    return el("span", { class: "source-card__policy" }, [
      known.length ? el("span", { class: "source-card__issuer", text: known.join(" · ") }) : null,
      policy.status === "unknown" ? null : el("span", {
        class: "policy-status policy-status--" + policy.status, text: policy.status_label }),
    ]);
  }

  function renderAnswer(question, data) {
    const groups = groupByMarker(data.citations);
    const found = data.found === true;
    const answer = el("article", { class: "answer " + (found ? "answer--found" : "answer--refusal") });
    const written = data.mode === "generative";
    if (found) answer.classList.add(written ? "answer--generative" : "answer--extractive");
    answer.append(found
      ? el("p", { class: "answer__badge answer__badge--found", title: written
        ? "由大模型根据引用的政策文本撰写，每句都已与出处原文核对" : "每句话都摘自政策原文" }, [
        el("span", { class: "answer__icon", "aria-hidden": "true", text: "✓" }),
        written ? "根据引用文本撰写" : "摘自政策原文"])
      : el("p", { class: "answer__badge answer__badge--refusal" }, [
        el("span", { class: "answer__icon", "aria-hidden": "true", text: "!" }), "未找到依据"]));
    answer.append(answerText(data.answer, groups));
    if (groups.size) answer.append(sourceList(groups));
    if (!found) {
      answer.append(el("div", { class: "help" }, [
        el("p", { class: "help__title", text: "需要人工帮助，可以联系：" }),
        el("ul", { class: "help__list" }, HELP_CHANNELS.map(function (channel) {
          return el("li", { text: channel });
        })),
      ]));
    }
    const passageIds = [];
    for (const citation of data.citations || []) {
      if (!passageIds.includes(citation.passage_id)) passageIds.push(citation.passage_id);
    }
    answer.append(feedbackBar({ question: question, answer: data.answer, passage_ids: passageIds }));
    return answer;
  }

  function renderError(question, turn, message, detail, rejected) {
    const retry = el("button", {
      type: "button", class: "button retry", text: "重试",
      onclick: function () {
        if (pending) return;
        input.focus();
        ask(question, turn);
      },
    });
    const edit = el("button", {
      type: "button", class: "button edit", text: "修改问题",
      onclick: function () {
        input.value = question;
        updateComposer();
        input.focus();
      },
    });
    // A rejected question needs editing first; a failed request is worth resending as is.
    retry.classList.add(rejected ? "button--ghost" : "button--primary");
    edit.classList.add(rejected ? "button--primary" : "button--ghost");
    return el("div", { class: "answer answer--error", role: "alert" }, [
      el("p", { class: "answer__badge answer__badge--error" }, [
        el("span", { class: "answer__icon", "aria-hidden": "true", text: "!" }), "提问未成功"]),
      el("p", { class: "answer__text error-message", text: message }),
      detail ? el("p", { class: "answer__detail", text: "服务器说明：" + detail }) : null,
      el("div", { class: "answer__actions" }, rejected ? [edit, retry] : [retry, edit]),
    ]);
  }

  /* ---------- feedback ---------- */

  function feedbackBar(payload) {
    const status = el("span", { class: "feedback__status", role: "status" });
    const buttons = [true, false].map(function (helpful) {
      return el("button", {
        type: "button",
        class: "feedback__button",
        "data-helpful": helpful ? "true" : "false",
        "aria-pressed": "false",
        text: helpful ? "有帮助" : "没帮助",
      });
    });
    const bar = el("div", { class: "feedback", role: "group", "aria-label": "为这个回答打分" }, [
      el("span", { class: "feedback__prompt", text: "这个回答有帮助吗？" }),
      buttons[0], buttons[1], status,
    ]);
    for (const button of buttons) {
      button.addEventListener("click", async function () {
        for (const b of buttons) b.disabled = true;
        button.setAttribute("aria-pressed", "true");
        status.textContent = "正在提交…";
        const body = Object.assign({}, payload, { helpful: button.dataset.helpful === "true" });
        try {
          const result = await postJSON(FEEDBACK_URL, body);
          if (!result.response.ok) throw new Error("status " + result.response.status);
          status.textContent = "感谢反馈";
          bar.classList.add("feedback--done");
        } catch (_) {
          status.textContent = "反馈未能提交，请稍后再试";
          button.setAttribute("aria-pressed", "false");
          for (const b of buttons) b.disabled = false;
        }
      });
    }
    return bar;
  }

  /* ---------- the passage dialog ---------- */

  function quoteRanges(text, citations) {
    const chars = Array.from(text);  // offsets count code points, as in Python
    const ranges = [];
    for (const citation of citations) {
      let start = citation.quote_start - citation.start;
      let end = citation.quote_end - citation.start;
      const fits = start >= 0 && end <= chars.length && start < end &&
        chars.slice(start, end).join("") === citation.quote;
      if (!fits) {
        const at = citation.quote ? text.indexOf(citation.quote) : -1;
        if (at < 0) continue;
        start = charCount(text.slice(0, at));
        end = start + charCount(citation.quote);
      }
      ranges.push([start, end]);
    }
    ranges.sort(function (a, b) { return a[0] - b[0]; });
    const merged = [];
    for (const range of ranges) {
      const previous = merged[merged.length - 1];
      if (previous && range[0] <= previous[1]) previous[1] = Math.max(previous[1], range[1]);
      else merged.push(range.slice());
    }
    return { chars: chars, ranges: merged };
  }

  function passageNodes(text, citations) {
    const { chars, ranges } = quoteRanges(text, citations);
    const nodes = [];
    let last = 0;
    for (const [start, end] of ranges) {
      nodes.push(chars.slice(last, start).join(""));
      nodes.push(el("mark", { class: "quote", text: chars.slice(start, end).join("") }));
      last = end;
    }
    nodes.push(chars.slice(last).join(""));
    return nodes;
  }

  function metaRow(term, value) {
    if (!value) return [];
    return [el("dt", { text: term }), el("dd", { text: value })];
  }

  function openPassage(group, opener) {
    const first = group[0];
    document.getElementById("passage-title").textContent = first.title;
    document.getElementById("passage-meta").replaceChildren(
      ...metaRow("日期", first.date || "未注明"),
      ...metaRow("来源", first.source || "未注明"),
      ...metaRow("章节", first.heading),
      ...metaRow("发文机关", first.policy && first.policy.agency),
      ...metaRow("文号", first.policy && first.policy.doc_number),
      ...metaRow("发布日期", first.policy && first.policy.issued),
      ...metaRow("有效期至", first.policy && first.policy.expires),
      ...metaRow("状态", first.policy && first.policy.status_label),
      ...metaRow("段落编号", first.passage_id),
    );
    const body = document.getElementById("passage-text");
    body.replaceChildren(...passageNodes(first.text, group));
    dialogOpener = opener;
    if (typeof dialog.showModal === "function") dialog.showModal();
    else dialog.setAttribute("open", "");
    const mark = body.querySelector("mark");
    body.scrollTop = 0;
    if (mark) body.scrollTop = Math.max(0, mark.offsetTop - body.offsetTop - 24);
  }

  function closeDialog() {
    if (typeof dialog.close === "function") dialog.close();
    else dialog.removeAttribute("open");
  }

  dialog.addEventListener("close", function () {
    if (dialogOpener && dialogOpener.isConnected) dialogOpener.focus();
    dialogOpener = null;
  });
  dialog.addEventListener("click", function (event) {
    // A click on the backdrop lands on the <dialog> itself; its content fills the box.
    if (event.target === dialog || event.target.closest("[data-close]")) closeDialog();
  });
  dialog.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      closeDialog();
    }
  });

  updateComposer();
  restoreConversation();
  loadProfilePanel();
})();
