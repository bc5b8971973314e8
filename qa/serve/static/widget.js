/*
 * QA chat widget: readers ask questions about a site's articles; the QA service answers with
 * the best passages, each with its source.
 *
 * Embed with one tag (every data-* attribute is optional, see docs/widget.md):
 *   <script src="https://qa.example.org/widget.js" defer
 *           data-endpoint="https://qa.example.org" data-title="Questions" data-lang="fr"
 *           data-k="3" data-accent="#4f46e5" data-position="right"></script>
 * (data-feedback="off" hides the "Utile ? 👍 👎" buttons and sends no feedback.)
 *
 * Rules this file keeps:
 * - One self-contained IIFE: no build step, no dependency, nothing loaded from another host.
 * - Everything lives in an open Shadow DOM with its own styles, so the host page's CSS cannot
 *   restyle the widget and the widget's CSS cannot leak into the page.
 * - Data from the service (passages, titles, source text, error details) is only ever inserted
 *   as text (textContent / text nodes); this file never parses markup.
 */
(() => {
  "use strict";

  // Read now: document.currentScript is null once this first run of the script is over.
  const script =
    document.currentScript ||
    document.querySelector('script[src$="/widget.js"], script[src="widget.js"]');
  const HOST_TAG = "qa-widget";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const DEFAULT_TIMEOUT_MS = 15000;
  const CONTEXT_CHARS = 180; // shown on each side of the marked sentence in a long passage

  const STRINGS = {
    fr: {
      launcher: "Poser une question",
      title: "Questions sur les articles",
      subtitle: "Réponses tirées des articles de ce site",
      close: "Fermer",
      welcome:
        "Bonjour ! Posez une question sur les articles : je vous montre les passages " +
        "qui y répondent, avec leur source.",
      conversation: "Conversation",
      inputLabel: "Votre question",
      placeholder: "Votre question…",
      send: "Envoyer",
      hint: "Entrée pour envoyer · Maj+Entrée pour aller à la ligne",
      you: "Vous : ",
      searching: "Recherche dans les articles…",
      found: "Voici les passages les plus pertinents :",
      notFound: "Je n’ai rien trouvé dans les articles qui réponde vraiment à cette question.",
      closest: "Passages les plus proches :",
      noResults: "Aucun passage à afficher.",
      openSource: "Lire dans l’article",
      openSourceLabel: (rank, title) => `Lire dans l’article, passage ${rank} : « ${title} »`,
      readOnSite: "Lire l’article",
      readOnSiteLabel: (title) => `Lire l’article « ${title} » sur son site (nouvel onglet)`,
      published: (day) => `Publié le ${day}`,
      showMore: "Afficher tout le passage",
      showLess: "Réduire le passage",
      back: "Retour aux réponses",
      loadingSource: "Chargement de l’article…",
      sourceLabel: "Texte intégral de l’article",
      retry: "Réessayer",
      errUnreachable: "Impossible de joindre le service. Vérifiez votre connexion, puis réessayez.",
      errTimeout: (s) => `Le service n’a pas répondu en ${s} secondes. Réessayez dans un instant.`,
      errNotReady: "Le service n’est pas prêt pour le moment. Réessayez dans un instant.",
      errHttp: (status) => `Le service a renvoyé une erreur (${status}) :`,
      errBadResponse: "Le service a renvoyé une réponse inattendue.",
      errSource: "Impossible d’afficher l’article.",
      feedbackGroup: "Votre avis sur cette réponse",
      feedbackQuestion: "Utile ?",
      helpful: "Oui, cette réponse est utile",
      notHelpful: "Non, cette réponse n’est pas utile",
      thanks: "Merci pour votre avis !",
      feedbackFailed: "Votre avis n’a pas pu être envoyé. Réessayez.",
    },
    en: {
      launcher: "Ask a question",
      title: "Ask the articles",
      subtitle: "Answers come from this site’s articles",
      close: "Close",
      welcome:
        "Hello! Ask a question about the articles: I will show you the passages " +
        "that answer it, with their source.",
      conversation: "Conversation",
      inputLabel: "Your question",
      placeholder: "Your question…",
      send: "Send",
      hint: "Enter to send · Shift+Enter for a new line",
      you: "You: ",
      searching: "Searching the articles…",
      found: "Here are the most relevant passages:",
      notFound: "I found nothing in the articles that really answers this question.",
      closest: "Closest passages:",
      noResults: "No passage to show.",
      openSource: "Read in the article",
      openSourceLabel: (rank, title) => `Read in the article, passage ${rank}: “${title}”`,
      readOnSite: "Read the article",
      readOnSiteLabel: (title) => `Read “${title}” on its site (new tab)`,
      published: (day) => `Published ${day}`,
      showMore: "Show the whole passage",
      showLess: "Collapse the passage",
      back: "Back to the answers",
      loadingSource: "Loading the article…",
      sourceLabel: "Full text of the article",
      retry: "Try again",
      errUnreachable: "The service cannot be reached. Check your connection, then try again.",
      errTimeout: (s) => `The service did not answer within ${s} seconds. Try again in a moment.`,
      errNotReady: "The service is not ready at the moment. Try again in a moment.",
      errHttp: (status) => `The service returned an error (${status}):`,
      errBadResponse: "The service sent an unexpected answer.",
      errSource: "The article cannot be shown.",
      feedbackGroup: "Your opinion of this answer",
      feedbackQuestion: "Useful?",
      helpful: "Yes, this answer is useful",
      notHelpful: "No, this answer is not useful",
      thanks: "Thank you for your feedback!",
      feedbackFailed: "Your feedback could not be sent. Try again.",
    },
  };

  const STYLES = `
    /* :host gets all:initial with !important: for important rules the shadow tree's :host
       beats the page, so no page rule (even * {...!important}) reaches the host element, and
       nothing inherited from the page (fonts, colours, letter-spacing) flows inside. */
    :host { all: initial !important; }
    [hidden] { display: none !important; }
    .root {
      --qa-accent: #4f46e5; --qa-ink: #111827; --qa-muted: #6b7280; --qa-line: #e5e7eb;
      --qa-soft: #f3f4f6; --qa-mark: #fde68a; --qa-danger: #b91c1c;
      font: 400 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue",
        Arial, sans-serif;
      color: var(--qa-ink); text-align: left; letter-spacing: normal; word-spacing: normal;
      text-transform: none; text-indent: 0; font-style: normal; white-space: normal;
      -webkit-font-smoothing: antialiased;
    }
    .root *, .root *::before, .root *::after { box-sizing: border-box; }
    button, textarea { font: inherit; color: inherit; letter-spacing: inherit; margin: 0; }
    button { cursor: pointer; }
    :focus { outline: none; }
    :focus-visible { outline: 3px solid var(--qa-accent); outline-offset: 2px; }
    .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden;
      clip-path: inset(50%); white-space: nowrap; }
    svg { display: block; flex: none; }

    /* Launcher */
    .launcher { position: fixed; bottom: 20px; right: 20px; z-index: 2147483000;
      display: inline-flex; align-items: center; justify-content: center; gap: 10px;
      height: 52px; padding: 0 20px 0 16px; border: 0; border-radius: 26px;
      background: var(--qa-accent); color: #fff; font-weight: 600; font-size: 15px;
      box-shadow: 0 10px 25px -5px rgba(17,24,39,.35), 0 4px 8px -4px rgba(17,24,39,.25);
      transition: transform .15s ease, box-shadow .15s ease; }
    .launcher:hover { transform: translateY(-2px); }
    .launcher:focus-visible { outline: 3px solid #fff;
      box-shadow: 0 0 0 6px var(--qa-accent), 0 10px 25px -5px rgba(17,24,39,.35); }
    .launcher .icon-close { display: none; }
    .launcher[aria-expanded="true"] .icon-chat { display: none; }
    .launcher[aria-expanded="true"] .icon-close { display: block; }
    /* Open, the launcher shrinks to a round close button; its name stays for screen readers. */
    .launcher[aria-expanded="true"] { width: 52px; padding: 0; }
    .launcher[aria-expanded="true"] .label { position: absolute; width: 1px; height: 1px;
      overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
    .left .launcher { right: auto; left: 20px; }

    /* Panel */
    .panel { position: fixed; bottom: 88px; right: 20px; z-index: 2147483001;
      width: 400px; height: min(640px, calc(100vh - 112px)); min-height: 320px;
      display: flex; flex-direction: column; overflow: hidden;
      background: #fff; border-radius: 18px; border: 1px solid rgba(17,24,39,.08);
      box-shadow: 0 24px 48px -12px rgba(17,24,39,.35), 0 8px 16px -8px rgba(17,24,39,.2);
      opacity: 0; transform: translateY(12px) scale(.98); transform-origin: bottom right;
      visibility: hidden;
      transition: opacity .18s ease, transform .18s ease, visibility 0s linear .18s; }
    .left .panel { right: auto; left: 20px; transform-origin: bottom left; }
    .panel.open { opacity: 1; transform: none; visibility: visible; transition-delay: 0s; }
    @media (prefers-reduced-motion: reduce) { .panel, .launcher { transition: none; } }

    .header { display: flex; align-items: center; gap: 12px; padding: 14px 12px 14px 18px;
      background: var(--qa-accent); color: #fff; }
    .avatar { width: 36px; height: 36px; border-radius: 50%; display: grid;
      place-items: center; background: rgba(255,255,255,.18); flex: none; }
    .titles { flex: 1; min-width: 0; }
    .title { margin: 0; font-size: 16px; font-weight: 650; line-height: 1.3;
      overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .subtitle { margin: 0; font-size: 12.5px; opacity: .85; line-height: 1.3; }
    .icon-button { display: grid; place-items: center; width: 36px; height: 36px; flex: none;
      border: 0; border-radius: 10px; background: transparent; color: inherit; }
    .icon-button:hover { background: rgba(255,255,255,.16); }
    .header :focus-visible { outline-color: #fff; outline-offset: 0; }

    .view { flex: 1; min-height: 0; display: flex; flex-direction: column; }
    .log { flex: 1; min-height: 0; overflow-y: auto; padding: 16px 14px 8px;
      background: #f9fafb; display: flex; flex-direction: column; gap: 12px;
      overscroll-behavior: contain; position: relative; }

    /* Messages */
    .msg { max-width: 100%; overflow-wrap: anywhere; }
    .bot { align-self: flex-start; background: #fff; border: 1px solid var(--qa-line);
      border-radius: 4px 16px 16px 16px; padding: 10px 14px; max-width: 92%; }
    .user { align-self: flex-end; background: var(--qa-accent); color: #fff;
      border-radius: 16px 16px 4px 16px; padding: 9px 14px; max-width: 85%;
      white-space: pre-wrap; }
    .answer { align-self: stretch; display: flex; flex-direction: column; gap: 8px; }
    .answer-lead { margin: 0; font-size: 14px; color: var(--qa-muted); }
    .notice { margin: 0; padding: 10px 12px; border-radius: 12px; font-size: 14px;
      background: #fffbeb; border: 1px solid #fcd34d; color: #78350f; }
    .error { align-self: stretch; padding: 10px 12px; border-radius: 12px; font-size: 14px;
      background: #fef2f2; border: 1px solid #fca5a5; color: var(--qa-danger); }
    .error p { margin: 0; }
    .error .detail { margin-top: 4px; color: #7f1d1d; font-weight: 600; }
    .error .retry { margin-top: 8px; color: var(--qa-danger); }
    .typing { display: inline-flex; align-items: center; gap: 10px; color: var(--qa-muted);
      font-size: 14px; }
    .dots { display: inline-flex; gap: 4px; }
    .dots i { width: 6px; height: 6px; border-radius: 50%; background: var(--qa-muted);
      animation: qa-blink 1.2s infinite ease-in-out; }
    .dots i:nth-child(2) { animation-delay: .2s; }
    .dots i:nth-child(3) { animation-delay: .4s; }
    @keyframes qa-blink { 0%, 80%, 100% { opacity: .25; } 40% { opacity: 1; } }

    /* Passages */
    .passages { list-style: none; margin: 0; padding: 0; display: flex;
      flex-direction: column; gap: 8px; }
    .passage { background: #fff; border: 1px solid var(--qa-line); border-radius: 14px;
      padding: 12px 14px; box-shadow: 0 1px 2px rgba(17,24,39,.04); }
    .passage-head { display: flex; gap: 10px; align-items: flex-start; }
    .rank { flex: none; width: 22px; height: 22px; border-radius: 50%; display: grid;
      place-items: center; font-size: 12px; font-weight: 700; color: var(--qa-accent);
      background: var(--qa-soft); margin-top: 1px; }
    .source-meta { min-width: 0; }
    .source-title { margin: 0; font-size: 14px; font-weight: 650; line-height: 1.35;
      display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical;
      overflow: hidden; }
    .source-file { margin: 2px 0 0; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo,
      Consolas, monospace; color: var(--qa-muted); overflow-wrap: anywhere; }
    .published { margin: 2px 0 0; font-size: 12px; color: var(--qa-muted); }
    a.link-button { text-decoration: none; }
    .passage-text { margin: 8px 0 0; font-size: 14px; line-height: 1.55; color: #374151;
      white-space: pre-line; overflow-wrap: anywhere; }
    mark { background: var(--qa-mark); color: inherit; border-radius: 3px; padding: 0 2px;
      box-decoration-break: clone; -webkit-box-decoration-break: clone; }
    .passage-actions { display: flex; flex-wrap: wrap; gap: 6px 14px; margin-top: 8px; }
    .link-button { border: 0; background: none; padding: 2px 0; font-size: 13.5px;
      font-weight: 600; color: var(--qa-accent); display: inline-flex; align-items: center;
      gap: 4px; border-radius: 4px; }
    .link-button:hover { text-decoration: underline; }
    .link-button.quiet { color: var(--qa-muted); font-weight: 500; }

    /* Feedback: "Utile ? 👍 👎" under an answer */
    .feedback { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 8px;
      font-size: 13.5px; color: var(--qa-muted); }
    .thumb { display: grid; place-items: center; width: 34px; height: 30px;
      border: 1px solid var(--qa-line); border-radius: 15px; background: #fff;
      font-size: 15px; line-height: 1; }
    .thumb:hover { background: var(--qa-soft); }
    .thumb[aria-pressed="true"] { border-color: var(--qa-accent);
      background: color-mix(in srgb, var(--qa-accent) 12%, #fff); }
    .feedback-status:empty { display: none; }

    /* Composer */
    .composer { border-top: 1px solid var(--qa-line); background: #fff;
      padding: 10px 12px 8px; }
    .composer-row { display: flex; align-items: flex-end; gap: 8px; }
    textarea { flex: 1; min-width: 0; resize: none; border: 1px solid #d1d5db;
      border-radius: 14px; padding: 10px 14px; font-size: 15px; line-height: 1.4;
      max-height: 132px; min-height: 44px; background: #fff; color: var(--qa-ink);
      overflow-y: auto; }
    textarea::placeholder { color: #9ca3af; }
    textarea:focus-visible { outline: 2px solid var(--qa-accent); outline-offset: 0;
      border-color: transparent; }
    .send { flex: none; width: 44px; height: 44px; border: 0; border-radius: 50%;
      background: var(--qa-accent); color: #fff; display: grid; place-items: center; }
    .send[aria-disabled="true"] { opacity: .45; cursor: default; }
    .hint { margin: 6px 2px 0; font-size: 11.5px; color: #9ca3af; }

    /* Source view */
    .source-bar { padding: 8px 12px; border-bottom: 1px solid var(--qa-line); }
    .source-bar .link-button { padding: 6px 4px; }
    .source-heading { padding: 12px 18px 10px; border-bottom: 1px solid var(--qa-line); }
    .source-heading .source-title { font-size: 15px; -webkit-line-clamp: 3; }
    .source-body { flex: 1; min-height: 0; overflow-y: auto; padding: 14px 18px 28px;
      position: relative; font-size: 14.5px; line-height: 1.65; color: #1f2937;
      white-space: pre-wrap; overflow-wrap: anywhere; overscroll-behavior: contain; }
    .source-body:focus-visible { outline-offset: -3px; }
    .in-passage { background: color-mix(in srgb, var(--qa-accent) 9%, transparent);
      border-radius: 4px; box-decoration-break: clone; -webkit-box-decoration-break: clone; }
    .source-status { color: var(--qa-muted); }

    /* Phones: the panel takes the whole screen. */
    @media (max-width: 480px) {
      .panel, .left .panel { inset: 0; width: 100%; height: 100%; min-height: 0;
        border-radius: 0; border: 0; }
      .launcher { bottom: 16px; right: 16px; }
      .left .launcher { right: auto; left: 16px; }
      .hint { display: none; }
    }
  `;

  // Static icons (Feather-style strokes), built node by node rather than parsed from markup.
  const ICONS = {
    chat: [
      "M21 11.5a8.4 8.4 0 0 1-9 8.4 8.9 8.9 0 0 1-4-.9L3 20.5l1.5-4.6a8.4 8.4 0 0 1-.9-4.4 " +
        "8.5 8.5 0 0 1 8.4-8.4 8.4 8.4 0 0 1 9 8.4z",
    ],
    close: ["M18 6 6 18M6 6l12 12"],
    send: ["M5 12h14M13 6l6 6-6 6"],
    back: ["M19 12H5M11 18l-6-6 6-6"],
    book: [
      "M4 19.5A2.5 2.5 0 0 1 6.5 17H20V3H6.5A2.5 2.5 0 0 0 4 5.5z",
      "M4 19.5A2.5 2.5 0 0 0 6.5 22H20v-5",
    ],
    external: [
      "M14 4h6v6",
      "M20 4 10 14",
      "M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5",
    ],
  };

  // ------------------------------------------------------------------------ configuration

  function pickLanguage(attribute) {
    let wanted = (attribute || "").toLowerCase();
    if (wanted !== "fr" && wanted !== "en") {
      // The page's declared language comes before the browser's: the widget speaks like the page.
      wanted = (document.documentElement.lang || navigator.language || "fr").toLowerCase();
    }
    return wanted.startsWith("en") ? "en" : "fr";
  }

  function readConfig(tag) {
    const data = tag ? tag.dataset : {};
    const lang = pickLanguage(data.lang);
    // Default endpoint: the folder the script came from, i.e. the service root when the
    // service serves it at /widget.js, so the one-tag embed needs no configuration.
    const endpoint = data.endpoint || new URL(".", tag && tag.src ? tag.src : location.href).href;
    const k = Number.parseInt(data.k, 10);
    const timeout = Number.parseInt(data.timeout, 10);
    return {
      endpoint: endpoint.replace(/\/+$/, ""),
      lang,
      t: STRINGS[lang],
      title: data.title || STRINGS[lang].title,
      k: k >= 1 && k <= 20 ? k : 3,
      mode: data.mode || null,
      accent: data.accent && CSS.supports("color", data.accent) ? data.accent : null,
      position: data.position === "left" ? "left" : "right",
      timeoutMs: timeout > 0 ? timeout : DEFAULT_TIMEOUT_MS,
      feedback: (data.feedback || "").toLowerCase() !== "off",
    };
  }

  // ------------------------------------------------------------------------ DOM helpers

  // el("p", { class: "x", text: "…" }, ...children): text always goes through textContent.
  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else if (key === "hidden") node.hidden = value;
      else node.setAttribute(key, value);
    }
    node.append(...children);
    return node;
  }

  // The article's page, only when it is an http(s) URL: anything else (javascript:, data:)
  // is never made a link, whatever the service sends.
  function pageURL(url) {
    if (typeof url !== "string") return null;
    try {
      const parsed = new URL(url);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch {
      return null;
    }
  }

  // "2025-03-03" -> "3 mars 2025" / "March 3, 2025"; null for anything else.
  function publicationDate(day, lang) {
    if (typeof day !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(day)) return null;
    const date = new Date(`${day}T00:00:00Z`);
    if (Number.isNaN(date.getTime())) return null;
    return new Intl.DateTimeFormat(lang, { dateStyle: "long", timeZone: "UTC" }).format(date);
  }

  function icon(name, size = 20) {
    const svg = document.createElementNS(SVG_NS, "svg");
    const attributes = {
      viewBox: "0 0 24 24",
      width: size,
      height: size,
      fill: "none",
      stroke: "currentColor",
      "stroke-width": 2,
      "stroke-linecap": "round",
      "stroke-linejoin": "round",
      "aria-hidden": "true",
      focusable: "false",
      class: `icon-${name}`,
    };
    for (const [key, value] of Object.entries(attributes)) svg.setAttribute(key, value);
    for (const d of ICONS[name]) {
      const path = document.createElementNS(SVG_NS, "path");
      path.setAttribute("d", d);
      svg.append(path);
    }
    return svg;
  }

  // Append `text` to `parent` with [from, to) in a <mark>; returns the mark, or null if empty.
  function appendMarked(parent, text, from, to) {
    if (!(from < to)) {
      parent.append(text);
      return null;
    }
    const mark = el("mark", { text: text.slice(from, to) });
    parent.append(text.slice(0, from), mark, text.slice(to));
    return mark;
  }

  const clamp = (n, low, high) => Math.max(low, Math.min(high, n));

  // The highlight as offsets into the passage text, or null when absent or out of range.
  function localHighlight(result) {
    const h = result.highlight;
    if (!h || typeof h.start !== "number" || typeof h.end !== "number") return null;
    const from = clamp(h.start - result.start, 0, result.text.length);
    const to = clamp(h.end - result.start, 0, result.text.length);
    return from < to ? { from, to } : null;
  }

  // The part of a long passage to show by default: the marked sentence (or the beginning)
  // with some context on each side, cut at spaces. Null when the passage is short enough.
  function excerpt(text, hl) {
    const { from, to } = hl || { from: 0, to: 0 };
    if (text.length <= 2 * CONTEXT_CHARS + (to - from) + 60) return null;
    let start = 0;
    if (from > CONTEXT_CHARS) {
      start = Math.min(text.indexOf(" ", from - CONTEXT_CHARS) + 1 || from, from);
    }
    let end = (hl ? to : CONTEXT_CHARS) + CONTEXT_CHARS;
    if (end >= text.length) end = text.length;
    else end = Math.max(text.lastIndexOf(" ", end), to) || end;
    return { start, end };
  }

  function renderPassageText(node, text, hl, expanded) {
    node.textContent = "";
    const cut = expanded ? null : excerpt(text, hl);
    const { start, end } = cut || { start: 0, end: text.length };
    if (start > 0) node.append("… ");
    appendMarked(node, text.slice(start, end), hl ? hl.from - start : 0, hl ? hl.to - start : 0);
    if (end < text.length) node.append(" …");
    return cut !== null;
  }

  // Where the passage sits in the full text: at its offsets, checked against its text, or
  // found by search should the offsets ever disagree; -1 when it is not there at all.
  function locatePassage(text, result) {
    if (text.slice(result.start, result.end) === result.text) return result.start;
    return text.indexOf(result.text);
  }

  // ------------------------------------------------------------------------ service calls

  class ServiceError extends Error {
    constructor(kind, status = 0, detail = "") {
      super(kind);
      this.kind = kind; // "unreachable" | "timeout" | "http" | "bad_response"
      this.status = status;
      this.detail = detail;
    }
  }

  // The service's `detail` is a string; FastAPI's stock validation errors are a list.
  function detailText(body) {
    const detail = body && body.detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) return detail.map((e) => (e && e.msg) || String(e)).join("; ");
    return "";
  }

  async function requestJSON(url, options, timeoutMs) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const response = await fetch(url, {
        ...options,
        signal: controller.signal,
        headers: { Accept: "application/json", ...options.headers },
      });
      const raw = await response.text();
      let body = null;
      try {
        body = raw ? JSON.parse(raw) : null;
      } catch {
        body = null; // an error page from a proxy, say: handled below
      }
      if (!response.ok) throw new ServiceError("http", response.status, detailText(body));
      if (!body) throw new ServiceError("bad_response");
      return body;
    } catch (error) {
      if (error instanceof ServiceError) throw error;
      // fetch rejects with a TypeError when the service is unreachable (or CORS refuses it).
      throw new ServiceError(controller.signal.aborted ? "timeout" : "unreachable");
    } finally {
      clearTimeout(timer);
    }
  }

  // ------------------------------------------------------------------------ the widget

  class Widget {
    constructor(config) {
      this.cfg = config;
      this.t = config.t;
      this.busy = false;
      this.sources = new Map(); // name -> promise of {name, title, text}
      this.shownSource = null; // the result whose article the source view shows
      this.returnFocus = null; // what to focus when leaving the source view
      this.build();
      this.bindEvents();
      document.body.append(this.host);
    }

    build() {
      const { t, cfg } = this;
      this.host = document.createElement(HOST_TAG);
      const shadow = this.host.attachShadow({ mode: "open" });

      this.launcher = el(
        "button",
        {
          class: "launcher",
          type: "button",
          "aria-expanded": "false",
          "aria-controls": "qa-panel",
        },
        icon("chat", 22),
        icon("close", 22),
        el("span", { class: "label", text: t.launcher }),
      );
      this.closeButton = el(
        "button",
        { class: "icon-button", type: "button", "aria-label": t.close, title: t.close },
        icon("close"),
      );
      const header = el(
        "div",
        { class: "header" },
        el("div", { class: "avatar" }, icon("book", 18)),
        el(
          "div",
          { class: "titles" },
          el("h2", { class: "title", text: cfg.title }),
          el("p", { class: "subtitle", text: t.subtitle }),
        ),
        this.closeButton,
      );

      this.log = el(
        "div",
        { class: "log", role: "log", "aria-live": "polite", "aria-label": t.conversation },
        el("div", { class: "msg bot", text: t.welcome }),
      );
      this.input = el("textarea", {
        rows: "1",
        placeholder: t.placeholder,
        "aria-label": t.inputLabel,
        "aria-describedby": "qa-hint",
        enterkeyhint: "send",
        autocomplete: "off",
      });
      this.sendButton = el(
        "button",
        { class: "send", type: "submit", "aria-label": t.send, title: t.send },
        icon("send"),
      );
      this.form = el(
        "form",
        { class: "composer" },
        el("div", { class: "composer-row" }, this.input, this.sendButton),
        el("p", { class: "hint", id: "qa-hint", text: t.hint }),
      );
      this.chatView = el("div", { class: "view" }, this.log, this.form);

      this.backButton = el(
        "button",
        { class: "link-button", type: "button" },
        icon("back", 16),
        el("span", { text: t.back }),
      );
      this.sourceTitle = el("h3", { class: "source-title" });
      this.sourceFile = el("p", { class: "source-file" });
      this.sourceBody = el("div", {
        class: "source-body",
        tabindex: "0", // focusable, so that a keyboard can scroll it
        role: "region",
        "aria-label": t.sourceLabel,
      });
      this.sourceView = el(
        "div",
        { class: "view", hidden: true },
        el("div", { class: "source-bar" }, this.backButton),
        el("div", { class: "source-heading" }, this.sourceTitle, this.sourceFile),
        this.sourceBody,
      );

      this.panel = el(
        "div",
        { class: "panel", id: "qa-panel", role: "dialog", "aria-label": cfg.title },
        header,
        this.chatView,
        this.sourceView,
      );
      this.root = el(
        "div",
        { class: `root ${cfg.position}`, lang: cfg.lang },
        this.panel,
        this.launcher,
      );
      if (cfg.accent) this.root.style.setProperty("--qa-accent", cfg.accent);
      shadow.append(el("style", { text: STYLES }), this.root);
      this.syncComposer();
    }

    bindEvents() {
      this.launcher.addEventListener("click", () => (this.isOpen() ? this.close() : this.open()));
      this.closeButton.addEventListener("click", () => this.close());
      this.backButton.addEventListener("click", () => this.showChat());
      this.form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.submit();
      });
      this.input.addEventListener("keydown", (event) => {
        // Enter sends; Shift+Enter keeps its default, a new line. Never send mid-composition
        // (an input method uses Enter to confirm a word).
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          this.submit();
        }
      });
      this.input.addEventListener("input", () => this.syncComposer());
      this.root.addEventListener("keydown", (event) => {
        if (event.key !== "Escape" || !this.isOpen()) return;
        event.preventDefault();
        // Escape steps back from an opened article first, then closes the panel.
        if (this.sourceView.hidden) this.close();
        else this.showChat();
      });
    }

    isOpen() {
      return this.panel.classList.contains("open");
    }

    open() {
      this.panel.classList.add("open");
      this.launcher.setAttribute("aria-expanded", "true");
      (this.sourceView.hidden ? this.input : this.sourceBody).focus();
    }

    close() {
      this.panel.classList.remove("open");
      this.launcher.setAttribute("aria-expanded", "false");
      this.launcher.focus();
    }

    syncComposer() {
      // Grow the textarea with its content, up to its CSS max-height.
      this.input.style.height = "auto";
      this.input.style.height = `${this.input.scrollHeight + 2}px`;
      const idle = this.input.value.trim() && !this.busy;
      this.sendButton.setAttribute("aria-disabled", idle ? "false" : "true");
    }

    // Put the new question at the top of the log with its answer below; a question too long
    // for that gives way to its answer, which is what the reader is waiting for.
    scrollTo(question, answer) {
      const node = question.offsetHeight > this.log.clientHeight / 3 ? answer : question;
      this.log.scrollTop = Math.max(0, node.offsetTop - 12);
    }

    submit() {
      const question = this.input.value.trim();
      if (!question || this.busy) return;
      this.input.value = "";
      this.ask(question);
    }

    async ask(question) {
      const { t, cfg } = this;
      const bubble = el(
        "div",
        { class: "msg user" },
        el("span", { class: "sr-only", text: t.you }),
        question,
      );
      const pending = el(
        "div",
        { class: "msg bot typing", role: "status" },
        el("span", { class: "dots", "aria-hidden": "true" }, el("i"), el("i"), el("i")),
        el("span", { text: t.searching }),
      );
      this.log.append(bubble, pending);
      this.scrollTo(bubble, pending);
      this.busy = true;
      this.log.setAttribute("aria-busy", "true");
      this.syncComposer();

      const body = { question, k: cfg.k, ...(cfg.mode ? { mode: cfg.mode } : {}) };
      let answer;
      try {
        const data = await requestJSON(
          `${cfg.endpoint}/search`,
          {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify(body),
          },
          cfg.timeoutMs,
        );
        if (!data || !Array.isArray(data.results)) throw new ServiceError("bad_response");
        answer = this.renderAnswer(data);
      } catch (error) {
        const known = error instanceof ServiceError ? error : new ServiceError("bad_response");
        answer = this.renderError(known, question);
      }
      pending.replaceWith(answer);
      this.busy = false;
      this.log.removeAttribute("aria-busy");
      this.syncComposer();
      this.scrollTo(bubble, answer);
    }

    renderAnswer(data) {
      const { t } = this;
      const results = data.results.filter(
        (r) => r && typeof r.text === "string" && typeof r.source === "string",
      );
      const answer = el("div", { class: "msg answer" });
      if (data.answerable === false) {
        answer.append(el("p", { class: "notice", text: t.notFound }));
        if (results.length) answer.append(el("p", { class: "answer-lead", text: t.closest }));
      } else {
        const lead = results.length ? t.found : t.noResults;
        answer.append(el("p", { class: "answer-lead", text: lead }));
      }
      // Feedback needs the id the service gave this search (none with its analytics off).
      const searchId =
        this.cfg.feedback && typeof data.search_id === "string" ? data.search_id : null;
      if (results.length) {
        const opened = new Set(); // the ranks whose article this reader opened: sent once each
        const onOpen = (rank) => {
          if (!searchId || opened.has(rank)) return;
          opened.add(rank);
          this.sendFeedback({ search_id: searchId, event: "open", rank }).catch(() => {});
        };
        const cards = results.map((result, i) => this.renderPassage(result, i + 1, onOpen));
        answer.append(el("ol", { class: "passages" }, ...cards));
      }
      if (searchId) answer.append(this.renderFeedback(searchId));
      return answer;
    }

    // "Utile ? 👍 👎": two toggle buttons; the reader may change their mind (the service keeps
    // the last judgment). The status line thanks them, or says the judgment was not sent.
    renderFeedback(searchId) {
      const { t } = this;
      const status = el("span", { class: "feedback-status", role: "status" });
      const thumb = (emoji, label) =>
        el(
          "button",
          {
            class: "thumb",
            type: "button",
            "aria-pressed": "false",
            "aria-label": label,
            title: label,
          },
          el("span", { "aria-hidden": "true", text: emoji }),
        );
      const buttons = {
        helpful: thumb("👍", t.helpful),
        not_helpful: thumb("👎", t.notHelpful),
      };
      let sent = null; // the judgment the service holds
      for (const [event, button] of Object.entries(buttons)) {
        button.addEventListener("click", async () => {
          if (sent === event) return;
          for (const [other, b] of Object.entries(buttons)) {
            b.setAttribute("aria-pressed", String(other === event));
          }
          status.textContent = "";
          try {
            await this.sendFeedback({ search_id: searchId, event });
            sent = event;
            status.textContent = t.thanks;
          } catch {
            for (const [other, b] of Object.entries(buttons)) {
              b.setAttribute("aria-pressed", String(other === sent));
            }
            status.textContent = t.feedbackFailed;
          }
        });
      }
      return el(
        "div",
        { class: "feedback", role: "group", "aria-label": t.feedbackGroup },
        el("span", { "aria-hidden": "true", text: t.feedbackQuestion }),
        buttons.helpful,
        buttons.not_helpful,
        status,
      );
    }

    sendFeedback(body) {
      return requestJSON(
        `${this.cfg.endpoint}/feedback`,
        {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body),
          keepalive: true, // an "open" sent as the reader leaves for the article still arrives
        },
        this.cfg.timeoutMs,
      );
    }

    renderPassage(result, position, onOpen) {
      const { t } = this;
      const rank = result.rank || position;
      const title = result.title || result.source;
      const hl = localHighlight(result);
      const text = el("p", { class: "passage-text" });
      const truncated = renderPassageText(text, result.text, hl, false);

      const open = el(
        "button",
        { class: "link-button", type: "button", "aria-label": t.openSourceLabel(rank, title) },
        icon("book", 15),
        el("span", { text: t.openSource }),
      );
      open.addEventListener("click", () => {
        onOpen(rank);
        this.openSource(result, open);
      });
      const actions = el("div", { class: "passage-actions" }, open);
      const href = pageURL(result.url);
      if (href) {
        const link = el(
          "a",
          {
            class: "link-button",
            href,
            target: "_blank",
            rel: "noopener noreferrer",
            "aria-label": t.readOnSiteLabel(title),
          },
          icon("external", 15),
          el("span", { text: t.readOnSite }),
        );
        // A middle click opens it too (auxclick); the link itself is never held back.
        link.addEventListener("click", () => onOpen(rank));
        link.addEventListener("auxclick", () => onOpen(rank));
        actions.append(link);
      }
      if (truncated) {
        const more = el("button", {
          class: "link-button quiet",
          type: "button",
          "aria-expanded": "false",
          text: t.showMore,
        });
        more.addEventListener("click", () => {
          const expanded = more.getAttribute("aria-expanded") !== "true";
          renderPassageText(text, result.text, hl, expanded);
          more.textContent = expanded ? t.showLess : t.showMore;
          more.setAttribute("aria-expanded", String(expanded));
        });
        actions.append(more);
      }
      return el(
        "li",
        { class: "passage" },
        el(
          "div",
          { class: "passage-head" },
          el("span", { class: "rank", "aria-hidden": "true", text: String(rank) }),
          el(
            "div",
            { class: "source-meta" },
            el("h3", { class: "source-title", text: title }),
            el("p", { class: "source-file", text: result.source }),
            ...this.renderPublished(result.published),
          ),
        ),
        text,
        actions,
      );
    }

    renderPublished(published) {
      const day = publicationDate(published, this.cfg.lang);
      if (!day) return [];
      const when = el("time", { datetime: published, text: day });
      return [el("p", { class: "published" }, this.t.published(""), when)];
    }

    errorMessage(error) {
      const { t } = this;
      if (error.kind === "timeout") return t.errTimeout(Math.round(this.cfg.timeoutMs / 1000));
      if (error.kind === "unreachable") return t.errUnreachable;
      if (error.kind === "http" && error.status === 503) return t.errNotReady;
      if (error.kind === "http") return t.errHttp(error.status);
      return t.errBadResponse;
    }

    // An error box: our sentence in the reader's language, then the service's own detail.
    errorBox(error, lead = "") {
      const box = el(
        "div",
        { class: "msg error", role: "alert" },
        el("p", { text: lead + this.errorMessage(error) }),
      );
      if (error.kind === "http" && error.detail) {
        box.append(el("p", { class: "detail", text: error.detail }));
      }
      return box;
    }

    renderError(error, question) {
      const box = this.errorBox(error);
      // Trying again helps when the service was down or slow, not when it refused the question.
      if (error.kind !== "http" || error.status >= 500) {
        const retry = el("button", {
          class: "link-button retry",
          type: "button",
          text: this.t.retry,
        });
        retry.addEventListener("click", () => {
          if (this.busy) return;
          box.remove();
          this.input.focus();
          this.ask(question);
        });
        box.append(retry);
      }
      return box;
    }

    fetchSource(name) {
      if (!this.sources.has(name)) {
        const url = `${this.cfg.endpoint}/sources/${encodeURIComponent(name)}`;
        const request = requestJSON(url, { method: "GET" }, this.cfg.timeoutMs);
        this.sources.set(name, request);
        request.catch(() => this.sources.delete(name)); // a failure is not cached
      }
      return this.sources.get(name);
    }

    async openSource(result, opener) {
      const { t } = this;
      this.shownSource = result;
      this.returnFocus = opener;
      this.sourceTitle.textContent = result.title || result.source;
      this.sourceFile.textContent = result.source;
      this.sourceBody.replaceChildren(
        el("p", { class: "source-status", role: "status", text: t.loadingSource }),
      );
      this.chatView.hidden = true;
      this.sourceView.hidden = false;
      this.sourceBody.focus();
      try {
        const doc = await this.fetchSource(result.source);
        if (this.shownSource === result) this.renderSource(doc, result);
      } catch (error) {
        if (this.shownSource === result) {
          this.sourceBody.replaceChildren(this.errorBox(error, `${t.errSource} `));
        }
      }
    }

    renderSource(doc, result) {
      const body = this.sourceBody;
      const text = typeof doc.text === "string" ? doc.text : "";
      if (doc.title) this.sourceTitle.textContent = doc.title;
      body.replaceChildren();
      const at = locatePassage(text, result);
      if (at < 0) {
        body.append(text);
        body.scrollTop = 0;
        return;
      }
      const hl = localHighlight(result);
      const passage = el("span", { class: "in-passage" });
      // Without a highlight, the whole passage is marked so the reader still sees where it is.
      const mark = appendMarked(
        passage,
        result.text,
        hl ? hl.from : 0,
        hl ? hl.to : result.text.length,
      );
      body.append(text.slice(0, at), passage, text.slice(at + result.text.length));
      // Bring the mark to the upper third of the scroll box by hand: scrollIntoView could
      // scroll the host page too. (offsetTop is relative to .source-body, which is positioned.)
      if (mark) body.scrollTop = Math.max(0, mark.offsetTop - body.clientHeight / 3);
    }

    showChat() {
      this.shownSource = null;
      this.sourceView.hidden = true;
      this.chatView.hidden = false;
      const target = this.returnFocus && this.returnFocus.isConnected ? this.returnFocus : null;
      (target || this.input).focus();
    }
  }

  // ------------------------------------------------------------------------ start

  function start() {
    if (document.querySelector(HOST_TAG)) return; // embedded twice: keep the first one
    new Widget(readConfig(script));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
