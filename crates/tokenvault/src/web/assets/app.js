// tokenvault ui: the format check as you type. The rules come from the catalogue, embedded in the
// page as data (#tv-rules); the server checks again when the form is posted. The value is never
// stored, sent anywhere else or logged by this script.
"use strict";
(function () {
  const form = document.getElementById("add-form");
  const rulesEl = document.getElementById("tv-rules");
  if (!form || !rulesEl) return;
  let rules = [];
  try { rules = JSON.parse(rulesEl.textContent); } catch (e) { rules = []; }
  const provider = document.getElementById("provider");
  const value = document.getElementById("value");
  const save = document.getElementById("save");
  const status = document.getElementById("format-status");
  const createLink = document.getElementById("create-link");

  function withArticle(name) { return (/^[aeiou]/i.test(name) ? "an " : "a ") + name; }

  function check() {
    const p = rules.find(function (r) { return r.id === provider.value; });
    const v = value.value.trim();
    createLink.textContent = "";
    if (p && p.create_url) {
      const a = document.createElement("a");
      a.href = p.create_url; a.target = "_blank"; a.rel = "noopener noreferrer";
      a.textContent = "Create a " + p.name + " token";
      createLink.appendChild(a);
    }
    let ok = false, text;
    if (!v) {
      text = "Paste the token.";
    } else if (!p) {
      ok = true; text = "No format rule for this provider: it will be stored as it is.";
    } else {
      const field = p.fields.find(function (f) { return f.name === p.default_field; });
      const formats = field ? field.formats : [];
      const compiled = formats.map(function (f) {
        try { return { re: new RegExp(f.regex), d: f.description }; } catch (e) { return null; }
      }).filter(Boolean);
      if (compiled.length === 0) {
        ok = true; text = "No format rule for " + p.name + ": it will be stored as it is.";
      } else {
        const hit = compiled.find(function (c) { return c.re.test(v); });
        if (hit) {
          ok = true; text = "Looks like " + withArticle(p.name) + " " + hit.d.split(":")[0] + ".";
        } else {
          text = "This does not look like " + withArticle(p.name) + " token: expected " +
            compiled.map(function (c) { return c.d; }).join(", or ") +
            " (it is " + v.length + " characters long).";
        }
      }
    }
    save.disabled = !ok;
    status.textContent = text;
    status.className = "help " + (ok ? "good" : (v ? "bad" : ""));
  }
  provider.addEventListener("change", check);
  value.addEventListener("input", check);
  form.addEventListener("submit", function (e) { if (save.disabled) e.preventDefault(); });
  check();
})();
