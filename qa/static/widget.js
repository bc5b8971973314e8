/*
 * QA chat widget: ask questions about a site's articles, answered by the QA service.
 *
 * Embed with one tag (everything else is optional):
 *   <script src="https://qa.example.org/widget.js" defer
 *           data-endpoint="https://qa.example.org" data-title="Questions" data-lang="fr"
 *           data-k="3" data-accent="#4f46e5" data-position="right"></script>
 *
 * Design rules this file keeps:
 * - One self-contained IIFE, no build step, no dependency, nothing loaded from another host.
 * - Everything lives in an open Shadow DOM with its own styles, so the host page's CSS cannot
 *   restyle the widget and the widget's CSS cannot leak into the page.
 * - Data from the service (passages, titles, source text, error details) is only ever inserted
 *   as text (textContent / createTextNode); this file never uses innerHTML.
 */
(function () {
  "use strict";

  // The script element must be read now: document.currentScript is null once this run ends.
  var script =
    document.currentScript ||
    document.querySelector('script[src$="/widget.js"], script[src="widget.js"]');
  var HOST_TAG = "qa-widget";
  var SVG_NS = "http://www.w3.org/2000/svg";
  var DEFAULT_TIMEOUT_MS = 15000;

  var STRINGS = {
    fr: {
      launcher: "Poser une question",
      title: "Questions sur les articles",
      subtitle: "Réponses tirées des articles de ce site",
      close: "Fermer",
      welcome:
        "Bonjour ! Posez une question sur les articles : je vous montre les passages " +
        "qui y répondent, avec leur source.",
      inputLabel: "Votre question",
      placeholder: "Votre question…",
      send: "Envoyer",
      hint: "Entrée pour envoyer · Maj+Entrée pour aller à la ligne",
      you: "Vous",
      searching: "Recherche dans les articles…",
      found: "Voici les passages les plus pertinents :",
      notFound: "Je n’ai rien trouvé dans les articles qui réponde vraiment à cette question.",
      closest: "Passages les plus proches :",
      noResults: "Aucun passage à afficher.",
      openSource: "Lire dans l’article",
      openSourceLabel: function (rank, title) {
        return "Lire dans l’article le passage " + rank + " : « " + title + " »";
      },
      showMore: "Afficher tout le passage",
      showLess: "Réduire le passage",
      back: "Retour aux réponses",
      loadingSource: "Chargement de l’article…",
      sourceLabel: "Texte intégral de l’article",
      retry: "Réessayer",
      errUnreachable:
        "Impossible de joindre le service. Vérifiez votre connexion, puis réessayez.",
      errTimeout: function (s) {
        return "Le service n’a pas répondu en " + s + " secondes. Réessayez dans un instant.";
      },
      errNotReady: "Le service démarre et n’est pas encore prêt. Réessayez dans un instant.",
      errHttp: function (status) {
        return "Le service a renvoyé une erreur (" + status + ") :";
      },
      errBadResponse: "Le service a renvoyé une réponse inattendue.",
      errSource: "Impossible d’afficher l’article.",
    },
    en: {
      launcher: "Ask a question",
      title: "Ask the articles",
      subtitle: "Answers come from this site’s articles",
      close: "Close",
      welcome:
        "Hello! Ask a question about the articles: I will show you the passages " +
        "that answer it, with their source.",
      inputLabel: "Your question",
      placeholder: "Your question…",
      send: "Send",
      hint: "Enter to send · Shift+Enter for a new line",
      you: "You",
      searching: "Searching the articles…",
      found: "Here are the most relevant passages:",
      notFound: "I found nothing in the articles that really answers this question.",
      closest: "Closest passages:",
      noResults: "No passage to show.",
      openSource: "Read in the article",
      openSourceLabel: function (rank, title) {
        return "Read passage " + rank + " in the article: “" + title + "”";
      },
      showMore: "Show the whole passage",
      showLess: "Collapse the passage",
      back: "Back to the answers",
      loadingSource: "Loading the article…",
      sourceLabel: "Full text of the article",
      retry: "Try again",
      errUnreachable: "The service cannot be reached. Check your connection, then try again.",
      errTimeout: function (s) {
        return "The service did not answer within " + s + " seconds. Try again in a moment.";
      },
      errNotReady: "The service is starting and not ready yet. Try again in a moment.",
      errHttp: function (status) {
        return "The service returned an error (" + status + "):";
      },
      errBadResponse: "The service sent an unexpected answer.",
      errSource: "The article cannot be shown.",
    },
  };

  var CSS = [
    // The host element gets `all: initial` with !important: for important rules the shadow
    // tree's :host beats the page, so no page rule (even `* {...!important}`) reaches it and
    // nothing inherited from the page (fonts, colours, letter-spacing) flows inside.
    ":host { all: initial !important; }",
    "[hidden] { display: none !important; }",
    ".root {",
    "  --qa-accent: #4f46e5; --qa-ink: #111827; --qa-muted: #6b7280; --qa-line: #e5e7eb;",
    "  --qa-soft: #f3f4f6; --qa-mark: #fde68a; --qa-danger: #b91c1c;",
    "  font: 400 15px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue',",
    "    Arial, sans-serif;",
    "  color: var(--qa-ink); text-align: left; letter-spacing: normal; word-spacing: normal;",
    "  text-transform: none; text-indent: 0; font-style: normal; white-space: normal;",
    "  -webkit-font-smoothing: antialiased;",
    "}",
    ".root *, .root *::before, .root *::after { box-sizing: border-box; }",
    "button, textarea { font: inherit; color: inherit; letter-spacing: inherit; margin: 0; }",
    "button { cursor: pointer; }",
    ":focus { outline: none; }",
    ":focus-visible { outline: 3px solid var(--qa-accent); outline-offset: 2px; }",
    ".sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden;",
    "  clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap; }",
    "svg { display: block; flex: none; }",

    /* Launcher */
    ".launcher { position: fixed; bottom: 20px; right: 20px; z-index: 2147483000;",
    "  display: inline-flex; align-items: center; gap: 10px; height: 52px;",
    "  padding: 0 20px 0 16px; border: 0; border-radius: 26px;",
    "  background: var(--qa-accent); color: #fff; font-weight: 600; font-size: 15px;",
    "  box-shadow: 0 10px 25px -5px rgba(17,24,39,.35), 0 4px 8px -4px rgba(17,24,39,.25);",
    "  transition: transform .15s ease, box-shadow .15s ease; }",
    ".launcher:hover { transform: translateY(-2px); }",
    ".launcher:focus-visible { outline: 3px solid #fff;",
    "  box-shadow: 0 0 0 6px var(--qa-accent), 0 10px 25px -5px rgba(17,24,39,.35); }",
    ".launcher .icon-close { display: none; }",
    ".launcher[aria-expanded='true'] .icon-chat { display: none; }",
    ".launcher[aria-expanded='true'] .icon-close { display: block; }",
    // Open: the launcher shrinks to a round close button; its name stays for screen readers.
    ".launcher[aria-expanded='true'] { width: 52px; padding: 0; justify-content: center; }",
    ".launcher[aria-expanded='true'] .label { position: absolute; width: 1px; height: 1px;",
    "  overflow: hidden; clip-path: inset(50%); white-space: nowrap; }",
    ".left .launcher { right: auto; left: 20px; }",

    /* Panel */
    ".panel { position: fixed; bottom: 88px; right: 20px; z-index: 2147483001;",
    "  width: 400px; height: min(640px, calc(100vh - 112px)); min-height: 320px;",
    "  display: flex; flex-direction: column; overflow: hidden;",
    "  background: #fff; border-radius: 18px; border: 1px solid rgba(17,24,39,.08);",
    "  box-shadow: 0 24px 48px -12px rgba(17,24,39,.35), 0 8px 16px -8px rgba(17,24,39,.2);",
    "  opacity: 0; transform: translateY(12px) scale(.98); transform-origin: bottom right;",
    "  visibility: hidden;",
    "  transition: opacity .18s ease, transform .18s ease, visibility 0s linear .18s; }",
    ".left .panel { right: auto; left: 20px; transform-origin: bottom left; }",
    ".panel.open { opacity: 1; transform: none; visibility: visible; transition-delay: 0s; }",
    "@media (prefers-reduced-motion: reduce) { .panel, .launcher { transition: none; } }",

    ".header { display: flex; align-items: center; gap: 12px; padding: 14px 12px 14px 18px;",
    "  background: var(--qa-accent); color: #fff; }",
    ".header .avatar { width: 36px; height: 36px; border-radius: 50%; display: grid;",
    "  place-items: center; background: rgba(255,255,255,.18); }",
    ".header .titles { flex: 1; min-width: 0; }",
    ".header .title { margin: 0; font-size: 16px; font-weight: 650; line-height: 1.3;",
    "  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }",
    ".header .subtitle { margin: 0; font-size: 12.5px; opacity: .85; line-height: 1.3; }",
    ".icon-button { display: grid; place-items: center; width: 36px; height: 36px;",
    "  border: 0; border-radius: 10px; background: transparent; color: inherit; }",
    ".icon-button:hover { background: rgba(255,255,255,.16); }",
    ".header :focus-visible { outline-color: #fff; outline-offset: 0; }",

    ".view { flex: 1; min-height: 0; display: flex; flex-direction: column; }",
    ".log { flex: 1; min-height: 0; overflow-y: auto; padding: 16px 14px 8px;",
    "  background: #f9fafb; display: flex; flex-direction: column; gap: 12px;",
    "  overscroll-behavior: contain; position: relative; }",

    /* Messages */
    ".msg { max-width: 100%; overflow-wrap: anywhere; }",
    ".bot { align-self: flex-start; background: #fff; border: 1px solid var(--qa-line);",
    "  border-radius: 4px 16px 16px 16px; padding: 10px 14px; max-width: 92%; }",
    ".user { align-self: flex-end; background: var(--qa-accent); color: #fff;",
    "  border-radius: 16px 16px 4px 16px; padding: 9px 14px; max-width: 85%;",
    "  white-space: pre-wrap; }",
    ".answer { align-self: stretch; display: flex; flex-direction: column; gap: 8px; }",
    ".answer-lead { margin: 0; font-size: 14px; color: var(--qa-muted); }",
    ".notice { margin: 0; padding: 10px 12px; border-radius: 12px; font-size: 14px;",
    "  background: #fffbeb; border: 1px solid #fcd34d; color: #78350f; }",
    ".error { align-self: stretch; padding: 10px 12px; border-radius: 12px; font-size: 14px;",
    "  background: #fef2f2; border: 1px solid #fca5a5; color: var(--qa-danger); }",
    ".error p { margin: 0; }",
    ".error .detail { margin-top: 4px; color: #7f1d1d; font-weight: 600; }",
    ".error .retry { margin-top: 8px; }",
    ".typing { display: inline-flex; align-items: center; gap: 10px; color: var(--qa-muted);",
    "  font-size: 14px; }",
    ".dots { display: inline-flex; gap: 4px; }",
    ".dots i { width: 6px; height: 6px; border-radius: 50%; background: var(--qa-muted);",
    "  animation: qa-blink 1.2s infinite ease-in-out; }",
    ".dots i:nth-child(2) { animation-delay: .2s; } .dots i:nth-child(3) { animation-delay: .4s; }",
    "@keyframes qa-blink { 0%, 80%, 100% { opacity: .25; } 40% { opacity: 1; } }",

    /* Passages */
    ".passages { list-style: none; margin: 0; padding: 0; display: flex;",
    "  flex-direction: column; gap: 8px; }",
    ".passage { background: #fff; border: 1px solid var(--qa-line); border-radius: 14px;",
    "  padding: 12px 14px; box-shadow: 0 1px 2px rgba(17,24,39,.04); }",
    ".passage-head { display: flex; gap: 10px; align-items: flex-start; }",
    ".rank { flex: none; width: 22px; height: 22px; border-radius: 50%; display: grid;",
    "  place-items: center; font-size: 12px; font-weight: 700; color: var(--qa-accent);",
    "  background: var(--qa-soft); margin-top: 1px; }",
    ".source-meta { min-width: 0; }",
    ".source-title { margin: 0; font-size: 14px; font-weight: 650; line-height: 1.35;",
    "  display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical;",
    "  overflow: hidden; }",
    ".source-file { margin: 2px 0 0; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo,",
    "  Consolas, monospace; color: var(--qa-muted); overflow-wrap: anywhere; }",
    ".passage-text { margin: 8px 0 0; font-size: 14px; line-height: 1.55; color: #374151;",
    "  white-space: pre-line; overflow-wrap: anywhere; }",
    "mark { background: var(--qa-mark); color: inherit; border-radius: 3px;",
    "  padding: 0 2px; box-decoration-break: clone; -webkit-box-decoration-break: clone; }",
    ".passage-actions { display: flex; flex-wrap: wrap; gap: 6px 14px; margin-top: 8px; }",
    ".link-button { border: 0; background: none; padding: 2px 0; font-size: 13.5px;",
    "  font-weight: 600; color: var(--qa-accent); display: inline-flex; align-items: center;",
    "  gap: 4px; border-radius: 4px; }",
    ".link-button:hover { text-decoration: underline; }",
    ".link-button.quiet { color: var(--qa-muted); font-weight: 500; }",

    /* Composer */
    ".composer { border-top: 1px solid var(--qa-line); background: #fff; padding: 10px 12px 8px; }",
    ".composer-row { display: flex; align-items: flex-end; gap: 8px; }",
    ".composer textarea { flex: 1; min-width: 0; resize: none; border: 1px solid #d1d5db;",
    "  border-radius: 14px; padding: 10px 14px; font-size: 15px; line-height: 1.4;",
    "  max-height: 132px; min-height: 44px; background: #fff; color: var(--qa-ink);",
    "  overflow-y: auto; }",
    ".composer textarea::placeholder { color: #9ca3af; }",
    ".composer textarea:focus-visible { outline: 2px solid var(--qa-accent);",
    "  outline-offset: 0; border-color: transparent; }",
    ".send { flex: none; width: 44px; height: 44px; border: 0; border-radius: 50%;",
    "  background: var(--qa-accent); color: #fff; display: grid; place-items: center; }",
    ".send[aria-disabled='true'] { opacity: .45; cursor: default; }",
    ".hint { margin: 6px 2px 0; font-size: 11.5px; color: #9ca3af; }",

    /* Source view */
    ".source-bar { display: flex; align-items: center; gap: 8px; padding: 8px 12px;",
    "  border-bottom: 1px solid var(--qa-line); background: #fff; }",
    ".source-bar .link-button { padding: 6px 4px; }",
    ".source-heading { padding: 12px 18px 10px; border-bottom: 1px solid var(--qa-line); }",
    ".source-heading .source-title { font-size: 15px; -webkit-line-clamp: 3; }",
    ".source-body { flex: 1; min-height: 0; overflow-y: auto; padding: 14px 18px 28px;",
    "  position: relative; font-size: 14.5px; line-height: 1.65; color: #1f2937;",
    "  white-space: pre-wrap; overflow-wrap: anywhere; overscroll-behavior: contain; }",
    ".source-body:focus-visible { outline-offset: -3px; }",
    ".in-passage { background: color-mix(in srgb, var(--qa-accent) 9%, transparent);",
    "  border-radius: 4px; box-decoration-break: clone; -webkit-box-decoration-break: clone; }",
    ".source-status { color: var(--qa-muted); }",

    /* Phones: the panel takes the whole screen. */
    "@media (max-width: 480px) {",
    "  .panel, .left .panel { inset: 0; width: 100%; height: 100%; min-height: 0;",
    "    border-radius: 0; border: 0; }",
    "  .launcher, .left .launcher { bottom: 16px; right: 16px; }",
    "  .left .launcher { right: auto; left: 16px; }",
    "  .hint { display: none; }",
    "}",
  ].join("\n");

  // ---------------------------------------------------------------- configuration

  function pickLanguage(attr) {
    var wanted = (attr || "").toLowerCase();
    if (wanted !== "fr" && wanted !== "en") {
      // The page's declared language wins over the browser's: the widget speaks like the page.
      wanted = (document.documentElement.lang || navigator.language || "fr").toLowerCase();
    }
    return wanted.slice(0, 2) === "en" ? "en" : "fr";
  }

  function readConfig(el) {
    var data = (el && el.dataset) || {};
    var src = el && el.src ? el.src : location.href;
    // Default endpoint: the folder the script came from (the service root when served at
    // /widget.js), so the one-tag embed needs no configuration.
    var endpoint = data.endpoint || new URL(".", src).href;
    var k = parseInt(data.k, 10);
    var timeout = parseInt(data.timeout, 10);
    var accent = data.accent && cssSupports("color", data.accent) ? data.accent : null;
    var lang = pickLanguage(data.lang);
    return {
      endpoint: endpoint.replace(/\/+$/, ""),
      lang: lang,
      t: STRINGS[lang],
      title: data.title || STRINGS[lang].title,
      k: k >= 1 && k <= 20 ? k : 3,
      mode: data.mode || null,
      accent: accent,
      position: data.position === "left" ? "left" : "right",
      timeoutMs: timeout > 0 ? timeout : DEFAULT_TIMEOUT_MS,
    };
  }

  function cssSupports(prop, value) {
    return !!(window.CSS && CSS.supports && CSS.supports(prop, value));
  }

  // ---------------------------------------------------------------- DOM helpers

  // el("p", {class: "x", text: "..."}, children...): text always goes through textContent.
  function el(tag, props) {
    var node = document.createElement(tag);
    var key;
    for (key in props || {}) {
      if (key === "text") node.textContent = props[key];
      else if (key === "class") node.className = props[key];
      else if (key === "hidden") node.hidden = !!props[key];
      else node.setAttribute(key, props[key]);
    }
    for (var i = 2; i < arguments.length; i++) {
      if (arguments[i] != null) node.appendChild(arguments[i]);
    }
    return node;
  }

  // Static icons (Feather-style strokes), built node by node instead of parsed markup.
  var ICONS = {
    chat: [["path", { d: "M21 11.5a8.4 8.4 0 0 1-9 8.4 8.9 8.9 0 0 1-4-.9L3 20.5l1.5-4.6a8.4 8.4 0 0 1-.9-4.4 8.5 8.5 0 0 1 8.4-8.4 8.4 8.4 0 0 1 9 8.4z" }]],
    close: [["path", { d: "M18 6 6 18M6 6l12 12" }]],
    send: [["path", { d: "M5 12h14M13 6l6 6-6 6" }]],
    back: [["path", { d: "M19 12H5M11 18l-6-6 6-6" }]],
    book: [["path", { d: "M4 19.5A2.5 2.5 0 0 1 6.5 17H20V3H6.5A2.5 2.5 0 0 0 4 5.5z" }], ["path", { d: "M4 19.5A2.5 2.5 0 0 0 6.5 22H20v-5" }]],
  };

  function icon(name, size) {
    var svg = document.createElementNS(SVG_NS, "svg");
    var attrs = {
      viewBox: "0 0 24 24", width: size || 20, height: size || 20, fill: "none",
      stroke: "currentColor", "stroke-width": 2, "stroke-linecap": "round",
      "stroke-linejoin": "round", "aria-hidden": "true", focusable: "false",
      class: "icon-" + name,
    };
    Object.keys(attrs).forEach(function (a) { svg.setAttribute(a, attrs[a]); });
    ICONS[name].forEach(function (part) {
      var shape = document.createElementNS(SVG_NS, part[0]);
      Object.keys(part[1]).forEach(function (a) { shape.setAttribute(a, part[1][a]); });
      svg.appendChild(shape);
    });
    return svg;
  }

  // Append `text` to `parent` with [from, to) wrapped in a <mark>; returns the mark (or null).
  function appendMarked(parent, text, from, to) {
    if (!(from < to)) {
      parent.appendChild(document.createTextNode(text));
      return null;
    }
    var mark = el("mark", { text: text.slice(from, to) });
    parent.appendChild(document.createTextNode(text.slice(0, from)));
    parent.appendChild(mark);
    parent.appendChild(document.createTextNode(text.slice(to)));
    return mark;
  }

  function clamp(n, lo, hi) {
    return Math.max(lo, Math.min(hi, n));
  }

  // The highlight as offsets inside the passage text, or null when absent or out of range.
  function localHighlight(result) {
    var h = result.highlight;
    if (!h || typeof h.start !== "number" || typeof h.end !== "number") return null;
    var from = clamp(h.start - result.start, 0, result.text.length);
    var to = clamp(h.end - result.start, 0, result.text.length);
    return from < to ? { from: from, to: to } : null;
  }

  // Shorten long passages around the marked sentence, cutting at word boundaries.
  var CONTEXT_CHARS = 180;
  function excerpt(text, hl) {
    var from = hl ? hl.from : 0;
    var to = hl ? hl.to : 0;
    if (text.length <= 2 * CONTEXT_CHARS + (to - from) + 60) return null;
    var start = from - CONTEXT_CHARS;
    var end = hl ? to + CONTEXT_CHARS : 2 * CONTEXT_CHARS;
    start = start <= 0 ? 0 : text.indexOf(" ", start) + 1 || start;
    if (start > from) start = from;
    if (end >= text.length) end = text.length;
    else end = Math.max(text.lastIndexOf(" ", end), to) || end;
    return { start: start, end: end };
  }

  function renderPassageText(node, text, hl, expanded) {
    node.textContent = "";
    var cut = expanded ? null : excerpt(text, hl);
    if (!cut) {
      appendMarked(node, text, hl ? hl.from : 0, hl ? hl.to : 0);
      return false;
    }
    if (cut.start > 0) node.appendChild(document.createTextNode("… "));
    appendMarked(
      node,
      text.slice(cut.start, cut.end),
      hl ? hl.from - cut.start : 0,
      hl ? hl.to - cut.start : 0
    );
    if (cut.end < text.length) node.appendChild(document.createTextNode(" …"));
    return true;
  }

  // ---------------------------------------------------------------- service calls

  function ServiceError(kind, status, detail) {
    this.kind = kind; // "unreachable" | "timeout" | "http" | "bad_response"
    this.status = status;
    this.detail = detail;
  }

  // The service's `detail` is a string; FastAPI's default validation errors are a list.
  function detailText(body) {
    var d = body && body.detail;
    if (typeof d === "string") return d;
    if (Array.isArray(d)) {
      return d.map(function (e) { return (e && e.msg) || String(e); }).join("; ");
    }
    return "";
  }

  function requestJSON(url, options, timeoutMs) {
    var controller = new AbortController();
    var timedOut = false;
    var timer = setTimeout(function () {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    options = Object.assign({ signal: controller.signal, headers: {} }, options);
    options.headers.Accept = "application/json";
    return fetch(url, options)
      .then(
        function (res) {
          return res.text().then(function (raw) {
            var body = null;
            try { body = raw ? JSON.parse(raw) : null; } catch (e) { body = null; }
            if (!res.ok) throw new ServiceError("http", res.status, detailText(body));
            if (!body) throw new ServiceError("bad_response");
            return body;
          });
        },
        function () {
          throw new ServiceError(timedOut ? "timeout" : "unreachable");
        }
      )
      .catch(function (err) {
        if (err instanceof ServiceError) throw err;
        throw new ServiceError(timedOut ? "timeout" : "unreachable");
      })
      .finally(function () { clearTimeout(timer); });
  }

  // ---------------------------------------------------------------- the widget

  function Widget(config) {
    this.cfg = config;
    this.t = config.t;
    this.busy = false;
    this.sources = new Map(); // name -> promise of {name, title, text}
    this.returnFocus = null;
    this.build();
  }

  Widget.prototype.build = function () {
    var t = this.t;
    var self = this;
    this.host = document.createElement(HOST_TAG);
    var shadow = this.host.attachShadow({ mode: "open" });
    shadow.appendChild(el("style", { text: CSS }));

    this.launcher = el(
      "button",
      { class: "launcher", type: "button", "aria-expanded": "false", "aria-controls": "qa-panel" },
      icon("chat", 22),
      icon("close", 22),
      el("span", { class: "label", text: t.launcher })
    );

    this.closeButton = el(
      "button",
      { class: "icon-button", type: "button", "aria-label": t.close, title: t.close },
      icon("close", 20)
    );
    var header = el(
      "div",
      { class: "header" },
      el("div", { class: "avatar" }, icon("book", 18)),
      el(
        "div",
        { class: "titles" },
        el("h2", { class: "title", text: this.cfg.title }),
        el("p", { class: "subtitle", text: t.subtitle })
      ),
      this.closeButton
    );

    this.log = el("div", {
      class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
      "aria-label": this.cfg.title, tabindex: "-1",
    });
    this.log.appendChild(el("div", { class: "msg bot", text: t.welcome }));

    this.input = el("textarea", {
      rows: "1", placeholder: t.placeholder, "aria-label": t.inputLabel,
      "aria-describedby": "qa-hint", enterkeyhint: "send", autocomplete: "off",
    });
    this.sendButton = el(
      "button",
      { class: "send", type: "submit", "aria-label": t.send, title: t.send, "aria-disabled": "true" },
      icon("send", 20)
    );
    this.form = el(
      "form",
      { class: "composer" },
      el("div", { class: "composer-row" }, this.input, this.sendButton),
      el("p", { class: "hint", id: "qa-hint", text: t.hint })
    );
    this.chatView = el("div", { class: "view chat-view" }, this.log, this.form);

    this.backButton = el(
      "button", { class: "link-button", type: "button" }, icon("back", 16), el("span", { text: t.back })
    );
    this.sourceTitle = el("h3", { class: "source-title" });
    this.sourceFile = el("p", { class: "source-file" });
    this.sourceBody = el("div", {
      class: "source-body", tabindex: "0", role: "region", "aria-label": t.sourceLabel,
    });
    this.sourceView = el(
      "div",
      { class: "view source-view", hidden: true },
      el("div", { class: "source-bar" }, this.backButton),
      el("div", { class: "source-heading" }, this.sourceTitle, this.sourceFile),
      this.sourceBody
    );

    this.panel = el(
      "div",
      { class: "panel", id: "qa-panel", role: "dialog", "aria-label": this.cfg.title },
      header,
      this.chatView,
      this.sourceView
    );

    this.root = el(
      "div", { class: "root " + this.cfg.position, lang: this.cfg.lang }, this.panel, this.launcher
    );
    if (this.cfg.accent) this.root.style.setProperty("--qa-accent", this.cfg.accent);
    shadow.appendChild(this.root);

    this.launcher.addEventListener("click", function () { self.toggle(); });
    this.closeButton.addEventListener("click", function () { self.close(); });
    this.backButton.addEventListener("click", function () { self.showChat(); });
    this.form.addEventListener("submit", function (e) {
      e.preventDefault();
      self.submit();
    });
    this.input.addEventListener("keydown", function (e) {
      // Enter sends, Shift+Enter keeps the default (a new line); never send mid-IME-composition.
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        self.submit();
      }
    });
    this.input.addEventListener("input", function () { self.syncComposer(); });
    this.root.addEventListener("keydown", function (e) {
      if (e.key !== "Escape" || !self.isOpen()) return;
      e.preventDefault();
      // Escape steps back from an opened article first, then closes the panel.
      if (!self.sourceView.hidden) self.showChat();
      else self.close();
    });

    document.body.appendChild(this.host);
  };

  Widget.prototype.isOpen = function () {
    return this.panel.classList.contains("open");
  };

  Widget.prototype.toggle = function () {
    if (this.isOpen()) this.close();
    else this.open();
  };

  Widget.prototype.open = function () {
    this.panel.classList.add("open");
    this.launcher.setAttribute("aria-expanded", "true");
    if (this.sourceView.hidden) this.input.focus();
    else this.sourceBody.focus();
  };

  Widget.prototype.close = function () {
    this.panel.classList.remove("open");
    this.launcher.setAttribute("aria-expanded", "false");
    this.launcher.focus();
  };

  Widget.prototype.syncComposer = function () {
    // Grow the textarea with its content, up to the CSS max-height.
    this.input.style.height = "auto";
    this.input.style.height = this.input.scrollHeight + 2 + "px";
    var empty = !this.input.value.trim();
    this.sendButton.setAttribute("aria-disabled", empty || this.busy ? "true" : "false");
  };

  // Scroll the log so that `node` (the new question) sits at the top, its answer below it.
  Widget.prototype.scrollTo = function (node) {
    this.log.scrollTop = Math.max(0, node.offsetTop - 12);
  };

  Widget.prototype.submit = function () {
    var question = this.input.value.trim();
    if (!question || this.busy) return;
    this.input.value = "";
    this.syncComposer();
    this.ask(question);
  };

  Widget.prototype.ask = function (question) {
    var self = this;
    var t = this.t;
    var bubble = el(
      "div", { class: "msg user" }, el("span", { class: "sr-only", text: t.you + " : " }),
      document.createTextNode(question)
    );
    var pending = el(
      "div", { class: "msg bot typing", role: "status" },
      el("span", { class: "dots", "aria-hidden": "true" }, el("i"), el("i"), el("i")),
      el("span", { text: t.searching })
    );
    this.log.appendChild(bubble);
    this.log.appendChild(pending);
    this.scrollTo(bubble);
    this.busy = true;
    this.log.setAttribute("aria-busy", "true");
    this.syncComposer();

    var body = { question: question, k: this.cfg.k };
    if (this.cfg.mode) body.mode = this.cfg.mode;
    requestJSON(
      this.cfg.endpoint + "/search",
      { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) },
      this.cfg.timeoutMs
    )
      .then(function (data) {
        if (!data || !Array.isArray(data.results)) throw new ServiceError("bad_response");
        return self.renderAnswer(data);
      }, function (err) {
        return self.renderError(err, question);
      })
      .catch(function () {
        return self.renderError(new ServiceError("bad_response"), question);
      })
      .then(function (node) {
        pending.replaceWith(node);
        self.busy = false;
        self.log.removeAttribute("aria-busy");
        self.syncComposer();
        self.scrollTo(bubble);
      });
  };

  Widget.prototype.renderAnswer = function (data) {
    var t = this.t;
    var answer = el("div", { class: "msg answer" });
    var results = data.results.filter(function (r) {
      return r && typeof r.text === "string" && typeof r.source === "string";
    });
    if (data.answerable === false) {
      answer.appendChild(el("p", { class: "notice", text: t.notFound }));
      if (results.length) answer.appendChild(el("p", { class: "answer-lead", text: t.closest }));
    } else {
      answer.appendChild(el("p", { class: "answer-lead", text: results.length ? t.found : t.noResults }));
    }
    if (!results.length) return answer;
    var list = el("ol", { class: "passages" });
    results.forEach(function (r, i) { list.appendChild(this.renderPassage(r, i + 1)); }, this);
    answer.appendChild(list);
    return answer;
  };

  Widget.prototype.renderPassage = function (result, fallbackRank) {
    var self = this;
    var t = this.t;
    var rank = result.rank || fallbackRank;
    var title = result.title || result.source;
    var hl = localHighlight(result);
    var textNode = el("p", { class: "passage-text" });
    var expanded = false;
    var truncated = renderPassageText(textNode, result.text, hl, expanded);

    var open = el(
      "button",
      { class: "link-button", type: "button", "aria-label": t.openSourceLabel(rank, title) },
      icon("book", 15), el("span", { text: t.openSource })
    );
    open.addEventListener("click", function () { self.openSource(result, open); });
    var actions = el("div", { class: "passage-actions" }, open);
    if (truncated) {
      var more = el("button", { class: "link-button quiet", type: "button", "aria-expanded": "false", text: t.showMore });
      more.addEventListener("click", function () {
        expanded = !expanded;
        renderPassageText(textNode, result.text, hl, expanded);
        more.textContent = expanded ? t.showLess : t.showMore;
        more.setAttribute("aria-expanded", String(expanded));
      });
      actions.appendChild(more);
    }
    return el(
      "li",
      { class: "passage", "data-source": result.source },
      el(
        "div",
        { class: "passage-head" },
        el("span", { class: "rank", "aria-hidden": "true", text: String(rank) }),
        el(
          "div",
          { class: "source-meta" },
          el("h3", { class: "source-title", text: title }),
          el("p", { class: "source-file", text: result.source })
        )
      ),
      textNode,
      actions
    );
  };

  Widget.prototype.errorMessage = function (err) {
    var t = this.t;
    if (err.kind === "timeout") return t.errTimeout(Math.round(this.cfg.timeoutMs / 1000));
    if (err.kind === "unreachable") return t.errUnreachable;
    if (err.kind === "http" && err.status === 503 && !err.detail) return t.errNotReady;
    if (err.kind === "http") return t.errHttp(err.status);
    return t.errBadResponse;
  };

  Widget.prototype.renderError = function (err, question) {
    var self = this;
    var box = el(
      "div", { class: "msg error", role: "alert" }, el("p", { text: this.errorMessage(err) })
    );
    if (err.kind === "http" && err.detail) box.appendChild(el("p", { class: "detail", text: err.detail }));
    // A retry makes sense when the service was down or slow, not when it refused the question.
    if (err.kind !== "http" || err.status >= 500) {
      var retry = el("button", { class: "link-button retry", type: "button", text: this.t.retry });
      retry.addEventListener("click", function () {
        if (self.busy) return;
        box.remove();
        self.input.focus();
        self.ask(question);
      });
      box.appendChild(retry);
    }
    return box;
  };

  Widget.prototype.fetchSource = function (name) {
    if (!this.sources.has(name)) {
      var p = requestJSON(
        this.cfg.endpoint + "/sources/" + encodeURIComponent(name), { method: "GET" }, this.cfg.timeoutMs
      );
      this.sources.set(name, p);
      var sources = this.sources;
      p.catch(function () { sources.delete(name); }); // do not cache failures
    }
    return this.sources.get(name);
  };

  Widget.prototype.openSource = function (result, opener) {
    var self = this;
    var t = this.t;
    this.returnFocus = opener;
    this.sourceTitle.textContent = result.title || result.source;
    this.sourceFile.textContent = result.source;
    this.sourceBody.textContent = "";
    this.sourceBody.appendChild(el("p", { class: "source-status", role: "status", text: t.loadingSource }));
    this.chatView.hidden = true;
    this.sourceView.hidden = false;
    this.sourceBody.focus();
    this.fetchSource(result.source).then(
      function (doc) { self.renderSource(doc, result); },
      function (err) {
        self.sourceBody.textContent = "";
        var box = el("div", { class: "msg error", role: "alert" }, el("p", { text: t.errSource + " " + self.errorMessage(err) }));
        if (err.kind === "http" && err.detail) box.appendChild(el("p", { class: "detail", text: err.detail }));
        self.sourceBody.appendChild(box);
      }
    );
  };

  // Where the passage sits in the full text: the offsets, checked against the passage text
  // (falling back to a search, should the service's offsets ever disagree).
  function locatePassage(text, result) {
    if (text.slice(result.start, result.end) === result.text) return result.start;
    var found = text.indexOf(result.text);
    return found >= 0 ? found : -1;
  }

  Widget.prototype.renderSource = function (doc, result) {
    var body = this.sourceBody;
    var text = typeof doc.text === "string" ? doc.text : "";
    if (doc.title) this.sourceTitle.textContent = doc.title;
    body.textContent = "";
    var at = locatePassage(text, result);
    if (at < 0) {
      body.appendChild(document.createTextNode(text));
      body.scrollTop = 0;
      return;
    }
    var end = at + result.text.length;
    var hl = localHighlight(result);
    var span = el("span", { class: "in-passage" });
    body.appendChild(document.createTextNode(text.slice(0, at)));
    // No highlight: mark the whole passage so the reader still sees where it is.
    var mark = appendMarked(span, result.text, hl ? hl.from : 0, hl ? hl.to : result.text.length);
    body.appendChild(span);
    body.appendChild(document.createTextNode(text.slice(end)));
    // Centre the marked sentence in the scroll box (offsetTop is relative to .source-body,
    // which is positioned); scrollIntoView could also scroll the host page.
    body.scrollTop = Math.max(0, mark.offsetTop - body.clientHeight / 3);
  };

  Widget.prototype.showChat = function () {
    this.sourceView.hidden = true;
    this.chatView.hidden = false;
    if (this.returnFocus && this.returnFocus.isConnected) this.returnFocus.focus();
    else this.input.focus();
  };

  // ---------------------------------------------------------------- start

  function start() {
    if (document.querySelector(HOST_TAG)) return; // embedded twice: keep the first one
    new Widget(readConfig(script));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
