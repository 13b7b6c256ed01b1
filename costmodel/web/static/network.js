// The network optimisation section: an example network (or uploaded CSV tables) -> POST /optimize/stream (progress while
// it solves) -> the status, the map (inline SVG, drawn by the server in both languages) and who pays. Uses common.js
// and app.js (post, showError, pageReady).
"use strict";

const NETWORK_TABLES = ["nodes", "corridors", "customers", "applications"]; // the first three are required in an upload
let networks = [];
let optimised = null; // the last answer of /optimize

const fill = (key, values) => t(key).replace(/\{(\w+)\}/g, (_, name) => values[name] ?? "");
const percent = (fraction, digits = 2) => (fraction === null || fraction === undefined ? "—" : `${(fraction * 100).toFixed(digits)} %`);
const money = (value) => (value === null || value === undefined ? "—" : `${cny(value)} ${t("cny")}`);

function fillNetworkExamples() {
  const select = $("#network-example");
  const current = select.value;
  select.innerHTML = networks.map((n) => `<option value="${esc(n.name)}">${esc(fill("net_example_option", n))}</option>`).join("");
  if (current) select.value = current;
}

function statusText(report) {
  const key = report.status === "feasible" && report.gap === null ? "net_status_feasible_unknown" : `net_status_${report.status}`;
  const stopped = report.stopped ? ` (${t(`net_stopped_${report.stopped}`)})` : "";
  return fill(key, {gap: percent(report.gap)}) + stopped;
}

// A quote line's component in the page's language: its zone and conductor, and the corridor or site the library names.
function componentText(line) {
  if (lang === "en") return line.component;
  const corridor = /corridor (\S+) \(([^)]+)\)/.exec(line.component);
  const site = /at site (\S+)/.exec(line.component);
  const where = corridor ? fill("net_corridor_ref", {id: corridor[1], route: corridor[2]}) : site ? fill("net_site_ref", {site: site[1]}) : "";
  return [t(`zone_${line.zone}`), line.std_type, where].filter(Boolean).join(" · ");
}

function renderStatus(answer) {
  const report = answer.report;
  const ac = answer.validation.summary || {};
  const rows = [
    ["net_status", "network-status-value", statusText(report)],
    ["net_cost", "network-cost", money(report.objective_cny)],
    ["net_bound", "network-bound", money(report.bound_cny) + (report.bound_basis ? ` ${t("net_bound_linear")}` : "")],
    ["net_gap", "network-gap", percent(report.gap)],
    ["net_time", "network-time", fill("net_seconds", {seconds: (report.seconds ?? 0).toFixed(1)})],
  ];
  if (ac.worst_voltage_pu_ac !== undefined) {
    rows.push(["net_ac_voltage", "network-ac-voltage", fill("net_ac_voltage_value", {
      pu: ac.worst_voltage_pu_ac.toFixed(4), node: ac.worst_voltage_node, limit: ac.voltage_limit_pu.toFixed(4)})]);
    rows.push(["net_ac_voltage_high", "network-ac-voltage-high", fill("net_ac_voltage_high_value", {
      pu: ac.highest_voltage_pu_ac.toFixed(4), limit: ac.voltage_upper_limit_pu.toFixed(4)})]);
    rows.push(["net_ac_loading", "network-ac-loading", fill("net_ac_loading_value", {
      pct: ac.max_loading_pct_ac.toFixed(1), corridor: ac.max_loading_corridor, limit: ac.loading_limit_pct.toFixed(0)})]);
    rows.push(["net_ac_check", "network-ac-check", ac.violations ? fill("net_ac_violations", {count: ac.violations}) : t("net_ac_passed")]);
  }
  $("#network-status").innerHTML = rows.map(([label, id, value]) => `<dt>${esc(t(label))}</dt><dd id="${id}">${esc(value)}</dd>`).join("");
  const notes = [
    ...answer.transformers.map((row) => `${t("net_new_transformers")}: ${fill("net_new_transformer", {
      type: row.std_type, site: row.node_id, hv: row.hv_node, flow: cny(row.flow_kva), rating: cny(row.rating_kva), cost: cny(row.cost_cny)})}`),
    ...(report[lang === "zh" ? "diagnosis_zh" : "diagnosis"] || []).map((text) => `${t("net_diagnosis")}: ${text}`),
    ...(answer.validation[lang === "zh" ? "violations_zh" : "violations"] || []).map((text) => `${t("net_violations")}: ${text}`),
    ...(answer.validation[lang === "zh" ? "pre_existing_zh" : "pre_existing"] || []).map((text) => `${t("net_pre_existing")}: ${text}`),
  ];
  $("#network-notes").innerHTML = notes.map((note) => `<li>${esc(note)}</li>`).join("");
}

function renderComponents(answer) {
  const head = ["net_application", "net_component", "net_quantity", "net_amount", "net_who_pays"];
  const quoted = answer.quote;
  const rows = quoted ? quoted.lines : answer.components;
  const cells = (row) => [
    `<td>${esc(row.application_id)}</td>`,
    `<td title="${esc(row.component)}">${esc(componentText(row))}</td>`,
    `<td class="num">${esc(row.quantity.toFixed(3))} ${esc(t(`unit_${row.unit}`))}</td>`,
    `<td class="num">${quoted ? esc(cny(row.amount_cny)) : "—"}</td>`,
    `<td>${quoted ? esc(t(row.funded_by)) : "—"}</td>`,
  ].map((cell, i) => cell.replace("<td", `<td data-label="${esc(t(head[i]))}"`)).join("");
  $("#network-components").innerHTML = rows.length
    ? `<tr>${head.map((key, i) => `<th${i >= 2 && i <= 3 ? ' class="num"' : ""}>${esc(t(key))}</th>`).join("")}</tr>`
      + rows.map((row) => `<tr>${cells(row)}</tr>`).join("")
    : `<tr><td>${esc(t("net_no_components"))}</td></tr>`;
  if (quoted) {
    const sum = (key) => quoted.totals.reduce((total, row) => total + (row[key] || 0), 0);
    $("#network-totals").textContent = fill("net_totals", {customer: cny(sum("customer_cny")), grid: cny(sum("grid_cny"))});
  } else {
    $("#network-totals").textContent = rows.length ? t("net_not_quoted") : "";
  }
}

function renderNetwork(answer) {
  renderStatus(answer);
  $("#network-map").innerHTML = answer.map_svg ? answer.map_svg[lang] : "";
  $("#network-download-map").hidden = $("#network-zoom").hidden = !answer.map_svg;
  $("#network-zoom").textContent = t($("#network-map").classList.contains("zoomed") ? "net_zoom_out" : "net_zoom_in");
  renderComponents(answer);
  $("#network-result").dataset.lang = lang;
  $("#network-result").hidden = false;
}

// The request: the uploaded tables when the three required files are chosen, else the chosen example.
async function networkRequest() {
  const files = Object.fromEntries(NETWORK_TABLES.map((table) => [table, $(`#network-${table}`).files[0]]));
  const request = {ruleset: $("#network-ruleset").value, time_limit_s: Number($("#network-time-limit").value),
                   ac_rounds: Number($("#network-ac-rounds").value)};
  if (!NETWORK_TABLES.some((table) => files[table])) return {...request, example: $("#network-example").value};
  if (!files.nodes || !files.corridors || !files.customers) throw t("net_need_tables");
  const network = {};
  for (const table of NETWORK_TABLES) if (files[table]) network[table] = await files[table].text();
  return {...request, network};
}

// POST /optimize/stream: NDJSON lines of the solver's progress, then the answer, or the error the solve ended with.
async function optimiseStreamed(request, onProgress) {
  const reader = (await post("/optimize/stream", request)).body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    const lines = (pending + value).split("\n");
    pending = lines.pop();
    for (const line of lines.filter(Boolean)) {
      const item = JSON.parse(line);
      if (item.progress) onProgress(item.progress);
      else if (item.error) throw item.error;
      else return item.answer;
    }
  }
  throw {detail: [{field: null, value: null, allowed: t("net_stream_cut")}]};
}

// The busy line while the solver runs: the bar fills over the time limit (then waits on the AC check and the map),
// the text gives the latest incumbent, bound and gap the server sent.
function showProgress(started, limit, sample) {
  const elapsed = (performance.now() - started) / 1000;
  const bar = $("#network-busy progress");
  if (elapsed < limit) { bar.max = limit; bar.value = elapsed; } else bar.removeAttribute("value");
  $("#network-progress").textContent = sample ? fill("net_progress", {
    elapsed: elapsed.toFixed(0), incumbent: money(sample.incumbent_cny), bound: money(sample.bound_cny), gap: percent(sample.gap)}) : "";
}

async function runNetwork(event) {
  event.preventDefault();
  const button = $("#network-run");
  const busy = $("#network-busy");
  $("#network-error").hidden = true;
  let ticking = null;
  try {
    const request = await networkRequest();
    button.disabled = true;
    $("#network-running").textContent = fill("net_running", {seconds: request.time_limit_s});
    const started = performance.now();
    let latest = null;
    showProgress(started, request.time_limit_s, latest);
    busy.hidden = false;
    ticking = setInterval(() => showProgress(started, request.time_limit_s, latest), 500);
    optimised = await optimiseStreamed(request, (sample) => { latest = sample; showProgress(started, request.time_limit_s, latest); });
    renderNetwork(optimised);
  } catch (problem) {
    $("#network-result").hidden = true;
    optimised = null;
    showError(problem, $("#network-error"));
  } finally {
    clearInterval(ticking);
    button.disabled = false;
    busy.hidden = true;
  }
}

function downloadMap() {
  if (!optimised || !optimised.map_svg) return;
  saveBlob(new Blob([optimised.map_svg[lang]], {type: "image/svg+xml"}), `map-${optimised.network.replace(/\W+/g, "-")}.svg`);
}

function networkLabels(maximum) {
  fillNetworkExamples();
  $("#network-time-help").textContent = fill("net_time_limit_help", {max: maximum});
  if (optimised) renderNetwork(optimised);
}

async function startNetwork() {
  const [listed, rulesets, schema] = await Promise.all([getJSON("/networks"), getJSON("/rulesets"), getJSON("/openapi.json")]);
  networks = listed;
  // the server's own bounds (schemas.OptimizeRequest), so the form and the server never disagree
  const fields = schema.components.schemas.OptimizeRequest.properties;
  const maximum = fields.time_limit_s.maximum;
  $("#network-time-limit").max = maximum;
  $("#network-time-limit").value = fields.time_limit_s.default;
  $("#network-ac-rounds").max = fields.ac_rounds.maximum;
  $("#network-ac-rounds").value = fields.ac_rounds.default;
  $("#network-ruleset").innerHTML = rulesets.map((r) => `<option value="${esc(r.id)}">${esc(r.id)}</option>`).join("");
  $("#network-ruleset").value = fields.ruleset.default;
  networkLabels(maximum);
  $("#network-form").addEventListener("submit", runNetwork);
  $("#network-download-map").addEventListener("click", downloadMap);
  $("#network-zoom").addEventListener("click", () => {  // a phone: the map wider than the screen, panned inside its box
    $("#network-map").classList.toggle("zoomed");
    $("#network-zoom").textContent = t($("#network-map").classList.contains("zoomed") ? "net_zoom_out" : "net_zoom_in");
  });
  $("#network-clear").addEventListener("click", () => NETWORK_TABLES.forEach((table) => { $(`#network-${table}`).value = ""; }));
  document.addEventListener("languagechange", () => networkLabels(maximum));
  document.body.dataset.networkReady = "true";
}

pageReady.then(startNetwork).catch((error) => showError(error.message || error, $("#network-error")));
