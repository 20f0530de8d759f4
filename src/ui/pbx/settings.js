// The phone system's Settings page: the digest algorithms its SIP
// challenges offer and the language its prompts speak (GET/PUT /settings,
// docs/api.md), with what each choice means; the SMTP relay of voicemail's
// email (voicemail.js); and what later versions will add here.

import { h, replace } from "../common/dom.js";
import { t } from "../common/i18n.js";
import { smtpCard } from "./voicemail.js";

export async function settings(view, ctx) {
  const { api } = ctx;
  const md5 = h("input", { type: "checkbox", id: "alg-md5", name: "MD5" });
  const sha = h("input", { type: "checkbox", id: "alg-sha256", name: "SHA-256" });
  const err = h("p.error", { role: "alert" });
  const state = h("p", { id: "alg-state" });
  const lang = h("select", { id: "prompt-language", name: "language" },
    h("option", { value: "en" }, t("English")),
    h("option", { value: "de" }, t("German")));
  const langErr = h("p.error", { role: "alert" });
  const langForm = h(
    "form.card",
    {
      id: "language-form",
      onsubmit: async (e) => {
        e.preventDefault();
        langErr.textContent = "";
        try {
          lang.value = (await api.put("settings", { language: lang.value })).language;
          ctx.notice(t("Settings saved."));
        } catch (x) {
          langErr.textContent = x.message;
        }
      },
    },
    h("h2", t("Language of prompts")),
    h("p", t("The language callers and users hear: voicemail's prompts and the numbers it says. Uploaded prompts (the Prompts page) play whatever the language.")),
    h("label.field", h("span", t("Language")), lang),
    langErr,
    h("button", { type: "submit", id: "language-save" }, t("Save"))
  );
  function show(s) {
    lang.value = s.language || "en";
    md5.checked = s.digest_algorithms.includes("MD5");
    sha.checked = s.digest_algorithms.includes("SHA-256");
    state.textContent = t("Offered now: {a}", { a: s.digest_algorithms.join(", ") });
  }
  const form = h(
    "form.card",
    {
      id: "digest-form",
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = "";
        const algs = [];
        if (md5.checked) algs.push("MD5");
        if (sha.checked) algs.push("SHA-256");
        if (!algs.length) {
          err.textContent = t("Choose at least one algorithm.");
          return;
        }
        try {
          show(await api.put("settings", { digest_algorithms: algs }));
          ctx.notice(t("Settings saved."));
        } catch (x) {
          err.textContent = x.message;
        }
      },
    },
    h("h2", t("SIP digest algorithms")),
    h("p", t("Phones prove their SIP password with a digest. The phone system's challenge offers these algorithms; each phone answers one it knows.")),
    h("label.check", sha, h("span", t("SHA-256: stronger; the right choice when every phone supports it."))),
    h("label.check", md5, h("span", t("MD5: older and weaker, but every phone supports it."))),
    h("p.hint", t("Some softphones give up when a challenge also offers SHA-256 instead of answering the MD5 one (for example baresip 1.0 of Debian 12: \"Function not implemented\"). For them, offer MD5 only. The users list shows a hint when a phone never answers the SHA-256 challenge.")),
    state,
    err,
    h("button", { type: "submit", id: "digest-save" }, t("Save"))
  );
  replace(
    view,
    h("h1", t("Settings")),
    form,
    langForm,
    await smtpCard(ctx),
    h(
      "section.card",
      { id: "coming" },
      h("h2", t("Coming")),
      h("p", t("Later versions add their settings here:")),
      h("ul", h("li", t("call forwarding and time rules")))
    )
  );
  show(await api.get("settings"));
}
