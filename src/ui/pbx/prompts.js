// The phone system's Prompts page: what it says and plays (GET /prompts,
// docs/api.md), each with a player; an administrator uploads a WAV, MP3 or
// OGG file to replace one (PUT /prompts/<name>: the company greeting and
// the music on hold above all) and reverts to the built-in one (DELETE).

import { h, replace } from "../common/dom.js";
import { t } from "../common/i18n.js";
import { table, badge, when } from "../common/shell.js";

// The administrator's own first, then voicemail's, then the words for numbers.
const OWN = ["company-greeting", "moh"];
const isNumber = (n) => /^(digit|number)-/.test(n);

function sourceCell(p) {
  if (p.source !== "uploaded") return h("span", { "data-source": p.name }, t("built-in"));
  return h(
    "span",
    { "data-source": p.name },
    badge("uploaded"),
    " ",
    h("small", p.original),
    h("br"),
    h("small", when(p.updated))
  );
}

export async function prompts(view, ctx) {
  const { api } = ctx;
  const own = h("div", { id: "prompts-own" });
  const vm = h("div", { id: "prompts-voicemail" });
  const numbers = h("div", { id: "prompts-numbers" });
  const lang = h("p", { id: "prompts-language" });

  function row(p) {
    // the stored clip; updated in the URL so a new upload is fetched, not the old one
    const src = api.url(`prompts/${p.name}?v=${p.source === "uploaded" ? p.updated : "built-in"}`);
    const input = h("input", {
      type: "file",
      accept: "audio/wav,audio/x-wav,audio/mpeg,audio/ogg,.wav,.mp3,.ogg,.oga,.opus,.flac",
      "data-upload": p.name,
      "aria-label": t("Upload a file for {n}", { n: p.name }),
      hidden: true,
      onchange: async () => {
        const f = input.files[0];
        if (!f) return;
        try {
          await api.upload(`prompts/${p.name}?filename=${encodeURIComponent(f.name)}`, f, "PUT");
          ctx.notice(t("{n} uploaded.", { n: p.name }));
        } catch (e) {
          ctx.notice(e.message, "error");
        }
        input.value = "";
        refresh();
      },
    });
    return [
      h("code", p.name),
      p.kind === "music" ? t("music, up to {m} min", { m: p.max_seconds / 60 }) : t("speech, up to {m} min", { m: p.max_seconds / 60 }),
      sourceCell(p),
      h("audio", { controls: true, preload: "none", src, "data-play": p.name }),
      h(
        "div.actions",
        input,
        h("button.secondary", { type: "button", "data-choose": p.name, onclick: () => input.click() }, t("Upload…")),
        p.source === "uploaded"
          ? h("button.danger", {
              type: "button",
              "data-revert": p.name,
              onclick: async () => {
                if (!(await ctx.confirm(t("Remove the upload of {n}? The built-in one plays again.", { n: p.name }), t("Revert")))) return;
                try {
                  await api.del(`prompts/${p.name}`);
                  ctx.notice(t("{n} is the built-in one again.", { n: p.name }));
                } catch (e) {
                  ctx.notice(e.message, "error");
                }
                refresh();
              },
            }, t("Revert"))
          : null
      ),
    ];
  }

  async function refresh() {
    const data = await api.get("prompts");
    const heads = [t("Name"), t("Kind"), t("Source"), t("Listen"), t("Actions")];
    const list = data.prompts;
    lang.textContent = t("The built-in prompts play in {l}. The language is chosen on the Settings page; an upload plays in every language.", {
      l: data.language === "de" ? t("German") : t("English"),
    });
    replace(own, table(heads, list.filter((p) => OWN.includes(p.name)).map(row)));
    replace(vm, table(heads, list.filter((p) => !OWN.includes(p.name) && !isNumber(p.name)).map(row)));
    replace(numbers, table(heads, list.filter((p) => isNumber(p.name)).map(row)));
  }

  replace(
    view,
    h("h1", t("Prompts and music")),
    h("p", t("What the phone system says and plays. Upload a WAV, MP3 or OGG file to replace one: it is converted to 16 kHz mono. Music may be 10 minutes long, anything else 2 minutes.")),
    lang,
    h("section.card", h("h2", t("Greeting and music on hold")), own),
    h("section.card", h("h2", t("Voicemail")), vm),
    h("details.card", h("summary", t("Digits and numbers")), numbers)
  );
  await refresh();
}
