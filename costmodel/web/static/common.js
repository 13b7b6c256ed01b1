// What the quote page and the study page share: the language, the labels (labels.json), and small helpers.
"use strict";

let LABELS = {};
let lang = "zh";

const $ = (selector) => document.querySelector(selector);
const t = (key) => (LABELS[lang] && LABELS[lang][key]) || key;
const cny = (value) => Math.round(value).toLocaleString("en-US");
const esc = (text) => String(text ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));

async function getJSON(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

// A browser download of a blob, under a file name.
function saveBlob(blob, name) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}
