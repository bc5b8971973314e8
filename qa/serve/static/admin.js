// The editors' page (/admin): GET /analytics drawn as cards, a chart and tables. The admin key
// is asked once and kept in sessionStorage (gone with the tab), sent only in the
// Authorization header, never in a URL. Every text from the report is set as textContent:
// readers' questions are never markup.
"use strict";

(() => {
  const KEY = "qa-admin-key";
  const SVG = "http://www.w3.org/2000/svg";
  const DAY_MS = 86400000;
  const $ = (id) => document.getElementById(id);

  const percent = (share) => (share === null ? "—" : `${(share * 100).toFixed(1)} %`);
  const isoDay = (date) => date.toISOString().slice(0, 10);

  function say(text, isError) {
    const message = $("message");
    message.textContent = text;
    message.classList.toggle("error", Boolean(isError));
    message.hidden = !text;
  }

  function askForKey(text) {
    sessionStorage.removeItem(KEY);
    $("report").hidden = true;
    $("sign-out").hidden = true;
    $("key-form").hidden = false;
    say(text, Boolean(text));
    $("key").focus();
  }

  function cell(row, text, className) {
    const td = row.insertCell();
    td.textContent = String(text);
    if (className) td.className = className;
    return td;
  }

  function fillTable(id, rows, columns) {
    const body = $(id).tBodies[0];
    body.replaceChildren();
    if (rows.length === 0) {
      const td = cell(body.insertRow(), "Rien sur cette période.", "empty");
      td.colSpan = columns.length;
      return;
    }
    for (const item of rows) {
      const row = body.insertRow();
      for (const column of columns) column(row, item);
    }
  }

  function card(value, label) {
    const div = document.createElement("div");
    div.className = "card";
    const strong = document.createElement("div");
    strong.className = "value";
    strong.textContent = value;
    const small = document.createElement("div");
    small.className = "label";
    small.textContent = label;
    div.append(strong, small);
    return div;
  }

  function drawPerDay(days) {
    const svg = $("per-day");
    svg.replaceChildren();
    const width = 1000;
    const height = 180;
    const bottom = 20;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("preserveAspectRatio", "none");
    const most = Math.max(1, ...days.map((d) => d.searches));
    const step = width / Math.max(1, days.length);
    days.forEach((day, index) => {
      const bar = document.createElementNS(SVG, "rect");
      const barHeight = ((height - bottom - 12) * day.searches) / most;
      bar.setAttribute("class", "bar");
      bar.setAttribute("x", String(index * step + step * 0.1));
      bar.setAttribute("width", String(step * 0.8));
      bar.setAttribute("y", String(height - bottom - barHeight));
      bar.setAttribute("height", String(barHeight));
      const title = document.createElementNS(SVG, "title");
      title.textContent = `${day.day} : ${day.searches} recherche(s)`;
      bar.append(title);
      svg.append(bar);
      if (days.length <= 14 || index % Math.ceil(days.length / 10) === 0) {
        const label = document.createElementNS(SVG, "text");
        label.setAttribute("x", String(index * step + step / 2));
        label.setAttribute("y", String(height - 6));
        label.setAttribute("text-anchor", "middle");
        label.textContent = day.day.slice(5);
        svg.append(label);
      }
    });
    svg.setAttribute("aria-label", `Recherches par jour, au plus ${most} par jour`);
  }

  function render(report) {
    $("cards").replaceChildren(
      card(String(report.searches), "recherches"),
      card(percent(report.answerable_share), "avec une réponse"),
      card(String(report.unanswered_searches), "sans réponse ou jugées inutiles"),
      card(percent(report.helpful_rate), `jugées utiles (${report.judged_searches} jugées)`),
      card(String(report.feedback.open), "articles ouverts"),
    );
    drawPerDay(report.searches_per_day);
    fillTable("gaps", report.unanswered_clusters, [
      (row, cluster) => cell(row, cluster.searches, "count"),
      (row, cluster) => {
        const list = document.createElement("ul");
        list.className = "examples";
        for (const question of cluster.questions) {
          const item = document.createElement("li");
          item.textContent = `${question.example} (${question.searches})`;
          list.append(item);
        }
        row.insertCell().append(list);
      },
    ]);
    fillTable("top", report.top_questions, [
      (row, question) => cell(row, question.searches, "count"),
      (row, question) => cell(row, question.example),
      (row, question) => cell(row, question.language),
    ]);
    for (const id of ["shown", "opened"]) {
      fillTable(id, report[`${id}_sources`], [
        (row, source) => cell(row, source.count, "count"),
        (row, source) => cell(row, source.source),
      ]);
    }
  }

  async function load() {
    const key = sessionStorage.getItem(KEY);
    if (!key) {
      askForKey("");
      return;
    }
    const query = new URLSearchParams({ since: $("since").value, until: $("until").value });
    say("Chargement…", false);
    let response;
    try {
      response = await fetch(`/analytics?${query}`, {
        headers: { Authorization: `Bearer ${key}` },
        cache: "no-store",
      });
    } catch {
      say("Le service ne répond pas.", true);
      return;
    }
    if (response.status === 401) {
      askForKey("Cette clé n’est pas la clé d’administration.");
      return;
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      say(`Erreur ${response.status} : ${body.detail || body.error || "réponse illisible"}`, true);
      return;
    }
    $("key-form").hidden = true;
    $("sign-out").hidden = false;
    $("report").hidden = false;
    say("", false);
    render(body);
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, $("key").value);
    $("key").value = "";
    load();
  });
  $("period").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  $("sign-out").addEventListener("click", () => askForKey("Clé oubliée."));

  const today = new Date();
  $("until").value = isoDay(today);
  $("since").value = isoDay(new Date(today.getTime() - 29 * DAY_MS));
  load();
})();
