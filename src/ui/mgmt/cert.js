// The TLS certificate management and the SBC present: what it says
// (subject, names, validity, fingerprint, issuer, self-signed), its
// downloads (PEM, and DER as .crt) and where phones fetch it without a
// login. GET /api/v1/certificate (docs/api.md).

import { h, replace } from "../common/dom.js";
import { t } from "../common/i18n.js";
import { dateTime, span } from "../common/format.js";

function validity(c) {
  const now = Date.now() / 1000;
  if (now < c.not_before) return h("strong.expired", t("not valid yet"));
  if (now > c.not_after) return h("strong.expired", t("expired"));
  return h("span", t("valid for another {d}", { d: span(c.not_after - now) }));
}

export async function certificate(view, ctx, sbcBase) {
  const { api } = ctx;
  const [c, base] = await Promise.all([api.get("certificate"), sbcBase(api)]);
  const fact = (k, id, ...v) => [h("dt", k), h("dd", { id }, ...v)];
  replace(
    view,
    h("h1", t("TLS certificate")),
    h("p", t("Management (this page), the phone systems' pages and SIP over TLS present this certificate. Phones and softphones check the server by it: until it is signed by an authority they know, install it on them as a trusted certificate, and compare its fingerprint where they ask.")),
    h(
      "section.card",
      { id: "cert" },
      h(
        "dl.facts",
        fact(t("Issued to"), "cert-subject", h("code", c.subject)),
        fact(t("Names"), "cert-names", c.names.length ? c.names.map((n) => h("div", h("code", n))) : "–"),
        fact(t("Valid from"), "cert-from", dateTime(c.not_before)),
        fact(t("Valid until"), "cert-until", dateTime(c.not_after), " — ", validity(c)),
        fact(t("SHA-256 fingerprint"), "cert-sha256", h("code", c.sha256)),
        fact(t("Issued by"), "cert-issuer", h("code", c.issuer), " ", c.self_signed ? h("span.badge.self", t("self-signed")) : null),
        fact(t("Key"), "cert-key", c.key || "–"),
        fact(t("Serial number"), "cert-serial", h("code", c.serial || "–"))
      ),
      h(
        "div.actions",
        h("a.button", { href: api.url("certificate/pem"), download: "", id: "cert-download-pem" }, t("Download (PEM)")),
        h("a.button.secondary", { href: api.url("certificate/der"), download: "", id: "cert-download-der" }, t("Download .crt (DER)"))
      )
    ),
    h(
      "section.card",
      h("h2", t("For phones and softphones")),
      h("p", t("The certificate is public: phones fetch it without a login at these addresses, and each phone system's Connect page links to it.")),
      h("dl.facts", { id: "cert-public" }, [
        [h("dt", "PEM"), h("dd", h("code", `${base}/certificate.pem`))],
        [h("dt", "DER (.crt)"), h("dd", h("code", `${base}/certificate.crt`))],
      ])
    )
  );
}
