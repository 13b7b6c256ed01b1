// The quote page: form -> POST /quote and /compare -> rendered result. No libraries, no build step (common.js first).
"use strict";

const BASELINE = "national-1996"; // the pre-reform rules shown side by side
const ZONES = ["grid_owned", "upstream", "extension", "site", "installation", "charges"];
const ENTERPRISE_KINDS = ["enterprise", "individual_business"]; // the kinds with an enterprise section
const OUTCOME_PREFIX = {supply_voltage: "v_", investment_boundary: "b_", enterprise_size: "s_"};
const FIELD_LABELS = {operating_revenue_10k_cny: "revenue", total_assets_10k_cny: "assets", kind: "applicant_kind", id: "application_id"};

let last = null; // {request, quote, comparison}

// a line's unit cost or amount; null where no sourced unit cost exists (never shown as 0)
const price = (value) => (value === null ? t("not_priced") : cny(value));
// a quote's text in the page's language: its `<field>_zh` in Chinese where the data gives one
const inLanguage = (record, field) => (lang === "zh" && record[`${field}_zh`] && record[`${field}_zh`].length ? record[`${field}_zh`] : record[field]);
const unitLabel = (unit) => (LABELS[lang] && `unit_${unit}` in LABELS[lang] ? t(`unit_${unit}`) : unit);
const outcome = (decision, value) => {
  const key = (OUTCOME_PREFIX[decision] || "") + value;
  return LABELS[lang] && key in LABELS[lang] ? t(key) : value;
};

function applyLabels() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.title = t("title");
  fillIndustries();
  if (last) renderResult(last);
}

let INDUSTRIES = [];
function fillIndustries() {
  const select = $("#industry");
  const current = select.value;
  select.innerHTML = INDUSTRIES.map((i) => `<option value="${esc(i.industry)}">${esc(lang === "zh" ? `${i.name_zh} (${i.industry})` : i.industry)}</option>`).join("");
  if (current) select.value = current;
}

function setForm(app) {
  const form = $("#application-form");
  const enterprise = app.applicant.enterprise || {};
  const values = {
    id: app.id, application_date: app.application_date, applicant_kind: app.applicant.kind,
    industry: enterprise.industry, employees: enterprise.employees, operating_revenue_10k_cny: enterprise.operating_revenue_10k_cny,
    total_assets_10k_cny: enterprise.total_assets_10k_cny, size_class: enterprise.size_class || "", ownership: enterprise.ownership || "",
    ...app.site, ...app.request,
  };
  for (const [name, value] of Object.entries(values)) {
    const field = form.elements[name];
    if (field) field.value = value ?? "";
  }
  form.elements.in_project_database.checked = Boolean(enterprise.in_project_database);
  for (const box of form.querySelectorAll("[data-unknown]")) {
    box.checked = app.site[box.dataset.unknown] === null;
    toggleUnknown(box);
  }
  toggleEnterprise();
}

function toggleUnknown(box) {
  const field = $("#application-form").elements[box.dataset.unknown];
  field.disabled = box.checked;
  if (box.checked) field.value = "";
}

function toggleEnterprise() {
  $("#enterprise-fields").hidden = !ENTERPRISE_KINDS.includes($("#application-form").elements.applicant_kind.value);
}

// The form as the API's Application: empty fields are left out, so the API names what is missing.
function readForm() {
  const f = $("#application-form").elements;
  const number = (name) => (f[name].value === "" ? undefined : Number(f[name].value));
  const text = (name) => (f[name].value === "" ? undefined : f[name].value);
  // a grid-side fact the applicant may not know: null asks the design scheme's assumption (and the range it spans)
  const gridFact = (name) => (f[`unknown_${name}`].checked ? null : number(name));
  const applicant = {kind: f.applicant_kind.value};
  if (ENTERPRISE_KINDS.includes(applicant.kind)) {
    applicant.enterprise = {
      industry: text("industry"), employees: number("employees"), operating_revenue_10k_cny: number("operating_revenue_10k_cny"),
      total_assets_10k_cny: number("total_assets_10k_cny"), size_class: text("size_class"), ownership: text("ownership"),
      in_project_database: f.in_project_database.checked,
    };
  }
  return {
    ruleset: f.ruleset.value,
    application: {
      id: text("id"), application_date: text("application_date"), applicant,
      site: {area: f.area.value, park_level: f.park_level.value, distance_to_lv_m: gridFact("distance_to_lv_m"),
             distance_to_10kv_m: number("distance_to_10kv_m"), transformer_headroom_kva: gridFact("transformer_headroom_kva"),
             road_crossings: number("road_crossings")},
      request: {capacity: number("capacity"), capacity_unit: f.capacity_unit.value, power_factor: number("power_factor"),
                phases: Number(f.phases.value), supply: f.supply.value, duration: f.duration.value,
                voltage_requested: text("voltage_requested")},
    },
  };
}

async function post(url, body) {
  const response = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  if (!response.ok) {
    let problem;
    try { problem = await response.json(); } catch { problem = {detail: [{field: null, value: null, allowed: `${response.status} ${response.statusText}`}]}; }
    throw problem;
  }
  return response;
}

function fieldLabel(path) {
  if (!path) return "";
  const name = path.split(".").pop();
  const key = FIELD_LABELS[name] || name;
  return LABELS[lang] && key in LABELS[lang] ? `${t(key)} (${path})` : path;
}

function showError(problem) {
  const box = $("#error");
  const items = (problem && problem.detail) || [{allowed: String(problem)}];
  const lines = items.map((item) => {
    const where = fieldLabel(item.field);
    const got = item.value === null || item.value === undefined ? "" : ` — ${lang === "zh" ? "填写的是" : "got"} ${JSON.stringify(item.value)}`;
    return `${where ? where + ": " : ""}${item.allowed}${got}`;
  });
  box.innerHTML = `<strong>${esc(t("error"))}</strong><ul>${lines.map((l) => `<li>${esc(l)}</li>`).join("")}</ul>`;
  box.hidden = false;
}

// The bar scales with the page; its legend is text, so it stays readable on a phone.
function splitChart(totals, width = 560) {
  const total = totals.total_cny;
  const customerWidth = total ? Math.round((width * totals.customer_cny) / total) : 0;
  const gridWidth = total ? width - customerWidth : 0;
  return `<svg class="split" role="img" viewBox="0 0 ${width} 28" width="${width}" height="28">
    <title>${esc(t("split"))}</title>
    <rect x="0" y="0" width="${width}" height="28" fill="#eee"/>
    <rect x="0" y="0" width="${customerWidth}" height="28" fill="#c0504d"/>
    <rect x="${customerWidth}" y="0" width="${gridWidth}" height="28" fill="#4f81bd"/></svg>
    <span class="legend"><i class="customer"></i>${esc(t("customer"))} ${cny(totals.customer_cny)} ${esc(t("cny"))}</span>
    <span class="legend"><i class="grid"></i>${esc(t("grid"))} ${cny(totals.grid_cny)} ${esc(t("cny"))}</span>`;
}

function linesTable(quote) {
  const heads = [["component", ""], ["std_type", ""], ["quantity", "num"], ["unit", ""], ["unit_cost", "num"], ["amount", "num"], ["paid_by", ""], ["rule", ""]];
  const zones = [...ZONES.filter((z) => quote.lines.some((l) => l.zone === z)), ...new Set(quote.lines.map((l) => l.zone).filter((z) => !ZONES.includes(z)))];
  let out = `<tr>${heads.map(([k, c]) => `<th class="${c}">${esc(t(k))}</th>`).join("")}</tr>`;
  for (const zone of zones) {
    const lines = quote.lines.filter((l) => l.zone === zone);
    const subtotal = lines.reduce((sum, l) => sum + (l.amount_cny ?? 0), 0);
    out += `<tr class="zone"><th colspan="5">${esc(t("zone_" + zone))}</th><th class="num">${cny(subtotal)}</th><th colspan="2"></th></tr>`;
    for (const l of lines) {
      const flag = l.placeholder ? " *" : l.indicative ? " ~" : "";
      // data-label: on a phone each line is a card, every value under its column's name
      const cells = [[inLanguage(l, "component"), ""], [l.std_type, ""], [l.quantity, "num"], [unitLabel(l.unit), ""], [price(l.unit_cost_cny), "num"],
                     [price(l.amount_cny) + flag, "num"], [t("p_" + l.funded_by), `payer ${l.funded_by}`], [l.rule_id, ""]];
      out += `<tr>${cells.map(([value, c], i) => `<td class="${c}" data-label="${esc(t(heads[i][0]))}">${esc(value)}</td>`).join("")}</tr>`;
    }
  }
  return out;
}

function traceItems(quote) {
  return quote.trace.map((step) => {
    const description = inLanguage(step, "description");
    const result = step.decision === "fees" ? description : outcome(step.decision, step.outcome);
    const sentence = t("trace_sentence").replace("{decision}", t("d_" + step.decision)).replace("{outcome}", result)
      .replace("{rule}", step.rule_id).replace("{description}", description).replace("{cites}", step.cites)
      + (step.layer ? " " + t("trace_layer").replace("{layer}", step.layer) : "")
      + (step.other_layer ? " " + t("trace_other_layer").replace("{other}", step.other_layer) : "");
    const details = [...step.parameters.map((p) => `${t("read")}: ${p}`), ...step.conditions.map((c) => `${t("tested")}: ${c}`)];
    return `<li>${esc(sentence)}${details.length ? `<details><summary>${esc(t("read"))} / ${esc(t("tested"))}</summary><ul>${details.map((d) => `<li>${esc(d)}</li>`).join("")}</ul></details>` : ""}</li>`;
  }).join("");
}

function scheduleSummary(schedule) {
  const limit = schedule.limit_working_days;
  // An average is a target over all connections, not a time owed to this customer.
  const kind = schedule.limit_basis === "average" ? "target" : "limit";
  const limitText = limit === null ? t("limit_none") : t(`${kind}_${schedule.within_limit ? "within" : "over"}`).replace("{limit}", limit);
  return t("schedule_summary").replace("{date}", schedule.energisation_due_date).replace("{days}", schedule.total_working_days)
    .replace("{calendar}", schedule.calendar_days).replace("{limit}", limitText);
}

const DAY_MS = 86400000;
const day = (text) => Date.parse(`${text}T00:00:00Z`);
const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);

// The stages as bars over the days, days off shaded, the critical path in red and the time limit (or average
// target) as a dashed line: where the plan would end if it took exactly that many working days.
function ganttChart(schedule, workingDays, width = 560) {
  const stages = schedule.stages;
  const open = new Set(workingDays);
  const dueIndex = workingDays.indexOf(schedule.energisation_due_date);
  const limit = schedule.limit_working_days;
  const targetDate = limit === null || dueIndex < 0 ? null : workingDays[dueIndex + (limit - schedule.total_working_days)] || null;
  const first = Math.min(...stages.map((s) => day(s.start_date)));
  const last = Math.max(...stages.map((s) => day(s.due_date)), targetDate ? day(targetDate) : 0);
  const days = Math.round((last - first) / DAY_MS) + 1;
  const left = 150, row = 18, top = 16, height = top + row * stages.length + 18;
  const dayWidth = (width - left - 6) / days;
  const x = (ms) => left + ((ms - first) / DAY_MS) * dayWidth;
  let out = "";
  for (let d = 0; d < days; d++) {
    const date = first + d * DAY_MS;
    if (!open.has(isoDay(date))) out += `<rect class="off" x="${x(date).toFixed(1)}" y="${top}" width="${dayWidth.toFixed(1)}" height="${row * stages.length}" fill="#e6e6e6"><title>${isoDay(date)}</title></rect>`;
  }
  stages.forEach((s, i) => {
    const y = top + i * row;
    const name = lang === "zh" ? s.name_zh : s.name_en;
    out += `<text x="${left - 4}" y="${y + 12}" font-size="10" text-anchor="end">${esc(name.length > 24 ? name.slice(0, 23) + "…" : name)}<title>${esc(name)}</title></text>`
      + `<rect class="${s.on_critical_path ? "critical" : "slack"}" x="${x(day(s.start_date)).toFixed(1)}" y="${y + 3}" width="${(x(day(s.due_date) + DAY_MS) - x(day(s.start_date))).toFixed(1)}" height="${row - 6}" fill="${s.on_critical_path ? "#c0504d" : "#999"}"><title>${esc(name)}: ${s.start_date} → ${s.due_date}, ${s.working_days} ${t("whatif_days")}</title></rect>`;
  });
  if (targetDate) {
    const at = x(day(targetDate) + DAY_MS).toFixed(1);
    const kind = schedule.limit_basis === "average" ? "gantt_target" : "gantt_limit";
    out += `<line class="target" x1="${at}" x2="${at}" y1="${top - 6}" y2="${top + row * stages.length}" stroke="#1f4e79" stroke-width="2" stroke-dasharray="5 3"/>`
      + `<text x="${at}" y="${top - 8}" font-size="10" text-anchor="end" fill="#1f4e79">${esc(t(kind).replace("{limit}", limit))}</text>`;
  }
  out += `<text x="${left}" y="${height - 4}" font-size="10">${esc(isoDay(first))}</text><text x="${width - 6}" y="${height - 4}" font-size="10" text-anchor="end">${esc(isoDay(last))}</text>`;
  return `<svg class="gantt" role="img" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}"><title>${esc(t("schedule"))}</title>${out}</svg>`
    + `<span class="legend"><i class="customer"></i>${esc(t("critical_path"))}</span><span class="legend"><i class="slack"></i>${esc(t("gantt_slack"))}</span><span class="legend"><i class="off"></i>${esc(t("gantt_off"))}</span>`;
}

async function drawGantt(schedule) {
  const start = schedule.stages.reduce((a, s) => (s.start_date < a ? s.start_date : a), schedule.stages[0].start_date);
  const slack = Math.max(0, (schedule.limit_working_days ?? 0) - schedule.total_working_days);
  const end = isoDay(day(schedule.energisation_due_date) + (slack * 2 + 30) * DAY_MS);
  const calendar = await getJSON(`/calendar?start=${start}&end=${end}`);
  $("#gantt").innerHTML = ganttChart(schedule, calendar.working_days);
}

function scheduleTable(schedule) {
  const head = `<tr>${["stage", "start", "due", "working_days", "critical_path"].map((k) => `<th>${esc(t(k))}</th>`).join("")}</tr>`;
  return head + schedule.stages.map((s) => `<tr${s.on_critical_path ? ' class="critical"' : ""}><td>${esc(lang === "zh" ? s.name_zh : s.name_en)}</td>`
    + `<td>${esc(s.start_date)}</td><td>${esc(s.due_date)}</td><td class="num">${s.working_days}</td><td>${s.on_critical_path ? "●" : ""}</td></tr>`).join("");
}

function comparisonTable(comparison) {
  const quotes = comparison.quotes;
  const head = `<tr><th></th>${quotes.map((q) => `<th>${esc(q.ruleset)}</th>`).join("")}<th>${esc(t("difference"))}</th></tr>`;
  const row = (label, values, diff = "") => `<tr><th>${esc(label)}</th>${values.map((v) => `<td class="num">${esc(v)}</td>`).join("")}<td class="num">${esc(diff)}</td></tr>`;
  const diff = comparison.difference_last_minus_first;
  const signed = (v) => (v > 0 ? "+" : v < 0 ? "−" : "") + cny(Math.abs(v));
  return `<table id="comparison-table">${head}
    ${row(t("supply_voltage"), quotes.map((q) => outcome("supply_voltage", q.supply_voltage)))}
    ${row(t("boundary"), quotes.map((q) => outcome("investment_boundary", q.boundary)))}
    ${row(t("customer"), quotes.map((q) => cny(q.totals.customer_cny)), signed(diff.customer_cny))}
    ${row(t("grid"), quotes.map((q) => cny(q.totals.grid_cny)), signed(diff.grid_cny))}
    ${row(t("total"), quotes.map((q) => cny(q.totals.total_cny)), signed(diff.total_cny))}</table>
    ${quotes.map((q) => `<p><strong>${esc(q.ruleset)}</strong><br>${splitChart(q.totals)}</p>`).join("")}`;
}

// What one side of a threshold gives: voltage, boundary, customer CNY and working days (or why it cannot be quoted).
function sideText(side) {
  if (side.rejected) return side.rejected;
  return `${outcome("supply_voltage", side.supply_voltage)}, ${outcome("investment_boundary", side.boundary)}, ${t("whatif_customer")} ${cny(side.customer_cny)} ${t("cny")}, ${side.working_days} ${t("whatif_days")}`;
}

function whatifItems(whatif) {
  const cliffs = whatif.cliffs.map((c) => `<li><strong>${esc(c.below_label)}</strong>: ${esc(sideText(c.below))}<br><strong>${esc(c.above_label)}</strong>: ${esc(sideText(c.above))}<br><small>${esc(c.parameters.join(", "))} (${esc(c.layers.join(", "))}) · ${esc(t("your_request"))}: ${esc(c.current_side === "below" ? c.below_label : c.above_label)}</small></li>`);
  const value = (a) => a.dimension === "enterprise_size" ? outcome("enterprise_size", a.value)
    : a.dimension === "park_level" ? t(`park_${a.value}`) : t(a.value === "true" ? "yes" : "no");
  const others = whatif.alternatives.filter((a) => a.changes.length).map((a) => `<li>${esc(t(a.dimension))}: ${esc(value(a))} → ${esc(sideText(a.outcome))}</li>`);
  return cliffs.concat(others).join("");
}

// Customer CNY against requested capacity, with each cap of the policy as a dashed line and the request as a dot.
function whatifChart(whatif, width = 560, height = 180) {
  const points = whatif.curve.filter((p) => p.customer_cny !== null);
  if (!points.length) return "";
  const left = 64, bottom = 24, top = 10;
  const maxX = whatif.curve[whatif.curve.length - 1].capacity;
  const maxY = Math.max(1, ...points.map((p) => p.customer_cny));
  const x = (value) => left + ((width - left - 8) * value) / maxX;
  const y = (value) => top + (height - top - bottom) * (1 - value / maxY);
  // steps, not slopes: a price holds until the next capacity quoted
  const steps = points.map((p, i) => i ? `H${x(p.capacity).toFixed(1)} V${y(p.customer_cny).toFixed(1)}` : `M${x(p.capacity).toFixed(1)},${y(p.customer_cny).toFixed(1)}`).join(" ");
  const caps = whatif.cliffs.filter((c) => c.unit === whatif.capacity_unit && c.threshold <= maxX).map((c) =>
    `<line x1="${x(c.threshold)}" x2="${x(c.threshold)}" y1="${top}" y2="${height - bottom}" stroke="#c0504d" stroke-dasharray="4 3"/>
     <text x="${x(c.threshold) + 3}" y="${top + 10}" font-size="11" fill="#c0504d">${esc(c.threshold)} ${esc(c.unit)}</text>`).join("");
  const current = whatif.current.customer_cny === null ? "" :
    `<circle cx="${x(whatif.capacity)}" cy="${y(whatif.current.customer_cny)}" r="4" fill="#4f81bd"><title>${esc(t("your_request"))}</title></circle>`;
  return `<svg class="whatif-chart" role="img" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">
    <title>${esc(t("whatif_chart"))}</title>
    <line x1="${left}" x2="${width - 8}" y1="${height - bottom}" y2="${height - bottom}" stroke="#999"/>
    <line x1="${left}" x2="${left}" y1="${top}" y2="${height - bottom}" stroke="#999"/>
    <text x="${left - 4}" y="${top + 8}" font-size="11" text-anchor="end">${esc(cny(maxY))}</text>
    <text x="${left - 4}" y="${height - bottom}" font-size="11" text-anchor="end">0</text>
    <text x="${width - 8}" y="${height - 6}" font-size="11" text-anchor="end">${esc(cny(maxX))} ${esc(whatif.capacity_unit)}</text>
    <path d="${steps}" fill="none" stroke="#333" stroke-width="1.5"/>${caps}${current}</svg>`;
}

function renderResult({quote, comparison, whatif}) {
  $("#supply-voltage").textContent = outcome("supply_voltage", quote.supply_voltage);
  $("#boundary").textContent = outcome("investment_boundary", quote.boundary);
  $("#enterprise-size").textContent = `${outcome("enterprise_size", quote.enterprise_size)} · ${quote.capacity_kva.toLocaleString("en-US")} kVA`;
  $("#customer-total").textContent = `${cny(quote.totals.customer_cny)} ${t("cny")}`;
  $("#grid-total").textContent = `${cny(quote.totals.grid_cny)} ${t("cny")}`;
  $("#total").textContent = `${cny(quote.totals.total_cny)} ${t("cny")}`;
  $("#chart").innerHTML = splitChart(quote.totals);
  $("#lines").innerHTML = linesTable(quote);
  $("#trace").innerHTML = traceItems(quote);
  $("#whatif-section").hidden = !whatif;
  $("#whatif-chart").innerHTML = whatif ? whatifChart(whatif) : "";
  $("#whatif").innerHTML = whatif ? whatifItems(whatif) : "";
  $("#schedule-section").hidden = !quote.schedule;
  $("#schedule-summary").textContent = quote.schedule ? scheduleSummary(quote.schedule) : "";
  $("#schedule").innerHTML = quote.schedule ? scheduleTable(quote.schedule) : "";
  $("#gantt").innerHTML = "";
  if (quote.schedule && quote.schedule.stages.length) drawGantt(quote.schedule).catch((error) => showError(error.message || error));
  const scheduleWarnings = quote.schedule ? inLanguage(quote.schedule, "warnings") : [];
  $("#schedule-warnings").textContent = scheduleWarnings.length ? `${t("warnings")}: ${scheduleWarnings.join("; ")}` : "";
  $("#comparison").innerHTML = comparison ? comparisonTable(comparison) : "";
  const p = quote.provenance;
  $("#provenance").textContent = `${t("provenance")}: ${p.ruleset_id} (${p.ruleset_lineage.join(" ← ")}) #${p.ruleset_content_hash}; ${p.evaluation_date}; ${p.catalog_id} ${p.catalog_edition}; ${p.design_scheme}`;
  $("#warnings").textContent = quote.warnings.length ? `${t("warnings")}: ${inLanguage(quote, "warnings").join("; ")} (~ ${t("indicative")}, * ${t("placeholder")})` : "";
  $("#result").hidden = false;
}

async function submit(event) {
  event.preventDefault();
  const button = $("#submit");
  button.disabled = true;
  button.textContent = t("working");
  $("#error").hidden = true;
  const request = readForm();
  try {
    const quote = await (await post("/quote", request)).json();
    const [comparison, whatif] = await Promise.all([
      post("/compare", {application: request.application, rulesets: [BASELINE, quote.ruleset]}).then((r) => r.json()),
      post("/what-if", request).then((r) => r.json())]);
    last = {request, quote, comparison, whatif};
    // the form's state in the address: a copied link reproduces this quote
    history.replaceState(null, "", `?${new URLSearchParams({ruleset: request.ruleset, application: JSON.stringify(request.application)})}`);
    renderResult(last);
  } catch (problem) {
    $("#result").hidden = true;
    last = null;
    showError(problem);
  } finally {
    button.disabled = false;
    button.textContent = t("submit");
  }
}

async function download(kind) {
  if (!last) return;
  const url = kind === "json" ? "/quote.json" : `/quote.${kind}?lang=${lang}&compare_with=${BASELINE}`;
  try {
    saveBlob(await (await post(url, last.request)).blob(), `quote-${last.quote.application_id}.${kind}`);
  } catch (problem) {
    showError(problem);
  }
}

// An application saved from this page (or written by hand, as the API takes it), back into the form.
async function openApplication(event) {
  const file = event.target.files[0];
  if (!file) return;
  try {
    const saved = JSON.parse(await file.text());
    setForm(saved.application || saved);
    if (saved.ruleset) $("#application-form").elements.ruleset.value = saved.ruleset;
    $("#error").hidden = true;
  } catch (error) {
    showError(`${file.name}: ${error.message}`);
  }
  event.target.value = "";
}

async function start() {
  LABELS = await getJSON("/static/labels.json");
  const [examples, rulesets, industries] = await Promise.all([getJSON("/examples"), getJSON("/rulesets"), getJSON("/industries")]);
  INDUSTRIES = industries;
  $("#example").innerHTML = examples.map((name) => `<option>${esc(name)}</option>`).join("");
  $("#ruleset").innerHTML += rulesets.map((r) => `<option value="${esc(r.id)}">${esc(r.id)}</option>`).join("");
  applyLabels();
  const shared = new URLSearchParams(location.search);
  if (shared.has("application")) {  // a shared link: its application, quoted at once
    try {
      setForm(JSON.parse(shared.get("application")));
      if (shared.has("ruleset")) $("#application-form").elements.ruleset.value = shared.get("ruleset");
      setTimeout(() => $("#application-form").requestSubmit(), 0);
    } catch (error) {
      showError(`${t("copy_link")}: ${error.message}`);
    }
  } else {
    const first = examples.includes("world-bank-warehouse") ? "world-bank-warehouse" : examples[0];
    $("#example").value = first;
    setForm(await getJSON(`/examples/${first}`));
  }
  $("#example").addEventListener("change", async (e) => setForm(await getJSON(`/examples/${e.target.value}`)));
  $("#application-form").elements.applicant_kind.addEventListener("change", toggleEnterprise);
  $("#application-form").addEventListener("submit", submit);
  $("#language").addEventListener("click", () => { lang = lang === "zh" ? "en" : "zh"; applyLabels(); });
  document.querySelectorAll("[data-download]").forEach((b) => b.addEventListener("click", () => download(b.dataset.download)));
  $("#open-application").addEventListener("change", openApplication);
  document.querySelectorAll("[data-unknown]").forEach((box) => box.addEventListener("change", () => toggleUnknown(box)));
  $("#save-application").addEventListener("click", () => {
    const request = readForm();
    // the application alone, as `costmodel quote FILE` and the API read it
    saveBlob(new Blob([JSON.stringify(request.application, null, 2)], {type: "application/json"}), `application-${request.application.id || "new"}.json`);
  });
  $("#copy-link").addEventListener("click", () => navigator.clipboard && navigator.clipboard.writeText(location.href));
  document.body.dataset.ready = "true";
}

start().catch((error) => showError(error.message || error));
