// The policy study page: a portfolio file, a baseline and reforms; what they change, by group; the workbook (common.js first).
"use strict";
let last = null;
const GROUPS = ["area", "enterprise_size", "capacity_band", "park_level"];

function applyLabels() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  if (last) render(last.summary);
}

function showError(problem) {
  const box = $("#error");
  const items = (problem && problem.detail) || [{allowed: String(problem)}];
  box.innerHTML = `<strong>${esc(t("error"))}</strong><ul>${items.map((i) => `<li>${esc((i.field ? i.field + ": " : "") + i.allowed)}</li>`).join("")}</ul>`;
  box.hidden = false;
}

function request() {
  const file = $("#portfolio").files[0];
  const reforms = [...document.querySelectorAll("#reforms input:checked")].map((box) => box.value);
  const format = file ? file.name.split(".").pop().toLowerCase() : "csv";
  const query = new URLSearchParams({baseline: $("#baseline").value, reform: reforms.join(","), format});
  return {file, query, reforms};
}

async function post(url, file) {
  const response = await fetch(url, {method: "POST", headers: {"Content-Type": "application/octet-stream"}, body: file});
  if (!response.ok) throw await response.json().catch(() => ({detail: [{allowed: `${response.status} ${response.statusText}`}]}));
  return response;
}

// One group's change for the customer and for the grid company, as paired horizontal bars around zero.
function groupChart(group, rows, width = 560) {
  const values = rows.flatMap((r) => [r.customer_delta_cny, r.grid_delta_cny]);
  const most = Math.max(1, ...values.map(Math.abs));
  const left = 150, middle = left + (width - left - 10) / 2, half = (width - left - 10) / 2, row = 34;
  const bar = (value, y, kind) => {
    const length = (half * Math.abs(value)) / most;
    const x = value < 0 ? middle - length : middle;
    return `<rect class="${kind}" x="${x.toFixed(1)}" y="${y}" width="${length.toFixed(1)}" height="12" fill="${kind === "customer" ? "#c0504d" : "#4f81bd"}"><title>${esc(t(kind === "customer" ? "study_customer_delta" : "study_grid_delta"))}: ${cny(value)}</title></rect>`;
  };
  const body = rows.map((r, i) => {
    const y = 22 + i * row;
    const label = group === "enterprise_size" ? t(`s_${r[group]}`) : group === "park_level" ? t(`park_${r[group]}`) : group === "area" ? t(`area_${r[group]}`) : r[group];
    return `<text x="${left - 6}" y="${y + 16}" font-size="11" text-anchor="end">${esc(label)} (${r.applications})</text>`
      + bar(r.customer_delta_cny, y, "customer") + bar(r.grid_delta_cny, y + 13, "grid");
  }).join("");
  const height = 30 + rows.length * row;
  return `<h3>${esc(t(`study_by_${group}`))}</h3><svg class="study-chart" role="img" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">
    <title>${esc(t(`study_by_${group}`))}</title>
    <line x1="${middle}" x2="${middle}" y1="14" y2="${height - 4}" stroke="#999"/>
    <text x="${middle}" y="11" font-size="10" text-anchor="middle">0</text>
    <text x="${left}" y="11" font-size="10">−${esc(cny(most))}</text>
    <text x="${width - 10}" y="11" font-size="10" text-anchor="end">+${esc(cny(most))}</text>${body}</svg>
    <span class="legend"><i class="customer"></i>${esc(t("study_customer_delta"))}</span><span class="legend"><i class="grid"></i>${esc(t("study_grid_delta"))}</span>`;
}

function render(summary) {
  const o = summary.overall;
  const figures = [["study_applications", o.applications], ["study_moved", o.moved_to_low_voltage], ["study_winners", o.winners],
                   ["study_losers", o.losers], ["study_customer_delta", `${cny(o.customer_delta_cny)} ${t("cny")}`],
                   ["study_grid_delta", `${cny(o.grid_delta_cny)} ${t("cny")}`], ["study_rules", `${o.baseline} → ${o.reform}`]];
  $("#overall").innerHTML = figures.map(([k, v]) => `<dt>${esc(t(k))}</dt><dd>${esc(v)}</dd>`).join("");
  $("#charts").innerHTML = GROUPS.map((g) => groupChart(g, summary.by_group[g])).join("");
  $("#rejected").textContent = o.rows_rejected ? `${t("study_rejected")}: ${o.rows_rejected} / ${o.rows_in}` : "";
  $("#study-result").hidden = false;
}

async function run(event) {
  event.preventDefault();
  $("#error").hidden = true;
  const {file, query, reforms} = request();
  if (!file || !reforms.length) return showError(t(file ? "study_need_reform" : "study_need_file"));
  $("#run").disabled = true;
  try {
    const summary = await (await post(`/study?${query}`, file)).json();
    last = {summary};
    render(summary);
  } catch (problem) {
    $("#study-result").hidden = true;
    showError(problem);
  } finally {
    $("#run").disabled = false;
  }
}

async function downloadWorkbook() {
  const {file, query} = request();
  try {
    saveBlob(await (await post(`/study.xlsx?${query}`, file)).blob(), "study.xlsx");
  } catch (problem) {
    showError(problem);
  }
}

async function start() {
  LABELS = await getJSON("/static/labels.json");
  const [rulesets, reforms] = await Promise.all([getJSON("/rulesets"), getJSON("/reforms")]);
  $("#baseline").innerHTML = rulesets.map((r) => `<option value="${esc(r.id)}">${esc(r.id)}</option>`).join("");
  $("#baseline").value = rulesets.some((r) => r.id === "shandong-2019") ? "shandong-2019" : rulesets[0].id;
  $("#reforms").innerHTML = reforms.map((r) => `<label class="check"><input type="checkbox" value="${esc(r.id)}"><span>${esc(r.id)}: ${esc(r.title)}</span></label>`).join("");
  applyLabels();
  $("#study-form").addEventListener("submit", run);
  $("#download-xlsx").addEventListener("click", downloadWorkbook);
  $("#language").addEventListener("click", () => { lang = lang === "zh" ? "en" : "zh"; applyLabels(); });
  document.body.dataset.ready = "true";
}

start().catch((error) => showError(error.message || error));
