// The quote page: form -> POST /quote.html?fragment=true -> the quote's layout, drawn by the server. No libraries, no build step (common.js first).
"use strict";

const BASELINE = "national-1996"; // the pre-reform rules shown side by side
const ENTERPRISE_KINDS = ["enterprise", "individual_business"]; // the kinds with an enterprise section
const FIELD_LABELS = {operating_revenue_10k_cny: "revenue", total_assets_10k_cny: "assets", kind: "applicant_kind", id: "application_id",
                      example: "net_example", time_limit_s: "net_time_limit", ac_rounds: "net_ac_rounds", nodes: "net_nodes",
                      corridors: "net_corridors", customers: "net_customers", applications: "net_applications"};

let last = null; // {request}: the application last quoted

function applyLabels() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.title = t("title");
  fillIndustries();
  if (last) render(last.request).catch(showError);
  document.dispatchEvent(new Event("languagechange"));  // the page's other sections draw themselves again
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

function showError(problem, box = $("#error")) {
  const items = (problem && problem.detail) || [{allowed: String(problem)}];
  const lines = items.map((item) => {
    const where = fieldLabel(item.field);
    const got = item.value === null || item.value === undefined ? "" : ` — ${lang === "zh" ? "填写的是" : "got"} ${JSON.stringify(item.value)}`;
    return `${where ? where + ": " : ""}${item.allowed}${got}`;
  });
  box.innerHTML = `<strong>${esc(t("error"))}</strong><ul>${lines.map((l) => `<li>${esc(l)}</li>`).join("")}</ul>`;
  box.hidden = false;
}

// The result is the quote's one layout (templates/quote.html.j2), drawn by the server in the page's language.
async function render(request) {
  const response = await post(`/quote.html?${new URLSearchParams({lang, compare_with: BASELINE, fragment: "true"})}`, request);
  $("#document").innerHTML = await response.text();
  $("#result").dataset.lang = lang;
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
    await render(request);
    last = {request};
    // the form's state in the address: a copied link reproduces this quote
    history.replaceState(null, "", `?${new URLSearchParams({ruleset: request.ruleset, application: JSON.stringify(request.application)})}`);
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
    saveBlob(await (await post(url, last.request)).blob(), `quote-${last.request.application.id}.${kind}`);
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

// The page's other sections (network.js) start once this one has the labels.
const pageReady = start().catch((error) => showError(error.message || error));
