// shell — what both UIs share around their pages: the login screen, the
// top bar (navigation, language, logout), hash routing (#/users …), the
// live-refresh timers of a page, notices and the confirmation dialog.
// routes may be a function of the api (its role after login: a phone
// system's user sees other pages than its administrator).

import { Api } from "./api.js";
import { h, replace } from "./dom.js";
import { LANGS, getLang, setLang, t } from "./i18n.js";
import { dateTime } from "./format.js";

export function startApp({ product, subtitle, routes: routesOf, loginHint }) {
  const api = new Api();
  const routesNow = () => (typeof routesOf === "function" ? routesOf(api) : routesOf);
  let routes = routesNow();
  const sub = () => (typeof subtitle === "function" ? subtitle() : t(subtitle));
  const root = document.getElementById("app");
  let timers = [];
  let current = null;

  const stopTimers = () => {
    timers.forEach(clearInterval);
    timers = [];
  };

  const notices = h("div.notices", { "aria-live": "polite", role: "status" });

  const ctx = {
    api,
    // Runs fn now and every ms while the page stays open.
    every(ms, fn) {
      fn();
      timers.push(setInterval(fn, ms));
    },
    notice(text, kind = "ok") {
      const n = h(`div.notice.${kind}`, text);
      notices.append(n);
      setTimeout(() => n.remove(), kind === "error" ? 8000 : 4000);
    },
    confirm(message, okLabel, danger = true) {
      return new Promise((resolve) => {
        const dlg = h(
          "dialog.confirm",
          h(
            "form",
            { method: "dialog" },
            h("p", message),
            h(
              "div.buttons",
              h("button.secondary", { value: "cancel", type: "submit" }, t("Cancel")),
              h(danger ? "button.danger" : "button", { value: "ok", type: "submit" }, okLabel)
            )
          )
        );
        dlg.addEventListener("close", () => {
          resolve(dlg.returnValue === "ok");
          dlg.remove();
        });
        document.body.append(dlg);
        dlg.showModal();
      });
    },
    // A dialog with any content and a close button; returns the element.
    dialog(title, ...content) {
      const dlg = h(
        "dialog.panel",
        h("h2", title),
        ...content,
        h(
          "form.buttons",
          { method: "dialog" },
          h("button", { type: "submit", value: "close" }, t("Close"))
        )
      );
      dlg.addEventListener("close", () => dlg.remove());
      document.body.append(dlg);
      dlg.showModal();
      return dlg;
    },
    go(route) {
      location.hash = `#/${route}`;
    },
    rerender: () => render(),
  };

  const langSelect = () =>
    h(
      "select.lang",
      {
        "aria-label": t("Language"),
        onchange: (e) => {
          setLang(e.target.value);
          render();
        },
      },
      LANGS.map(([code, name]) => h("option", { value: code, selected: code === getLang() }, name))
    );

  function loginScreen(message) {
    stopTimers();
    document.title = `${t("Log in")} — ${sub()}`;
    const err = h("p.error", { role: "alert" }, message || "");
    const user = h("input", {
      name: "username",
      autocomplete: "username",
      required: true,
      value: "admin",
    });
    const pass = h("input", {
      name: "password",
      type: "password",
      autocomplete: "current-password",
      required: true,
    });
    const button = h("button", { type: "submit" }, t("Log in"));
    const form = h(
      "form.login",
      {
        onsubmit: async (e) => {
          e.preventDefault();
          button.disabled = true;
          err.textContent = "";
          try {
            await api.login(user.value, pass.value);
            render();
          } catch (x) {
            err.textContent = x.message;
            pass.value = "";
            pass.focus();
          } finally {
            button.disabled = false;
          }
        },
      },
      h("img", { src: "ui/common/icon.svg", alt: "", width: 48, height: 48 }),
      h("h1", product),
      h("p.sub", sub()),
      h("label", t("User name"), user),
      h("label", t("Password"), pass),
      loginHint ? h("p.hint", loginHint()) : null,
      err,
      button,
      h("div.login-lang", langSelect())
    );
    replace(root, h("div.login-page", form), notices);
    pass.focus();
  }

  api.onunauthorized = () => loginScreen(t("Your session has ended. Please log in again."));

  function routeOf() {
    const id = location.hash.replace(/^#\/?/, "").split("/")[0];
    return routes.find((r) => r.id === id) || routes[0];
  }

  function render() {
    if (!api.csrf) {
      loginScreen();
      return;
    }
    stopTimers();
    routes = routesNow();
    const route = routeOf();
    current = route;
    document.documentElement.lang = getLang();
    document.title = `${t(route.label)} — ${sub()}`;
    const menu = h("button.menu", {
      type: "button",
      "aria-label": t("Menu"),
      "aria-expanded": "false",
      onclick: () => {
        const open = nav.classList.toggle("open");
        menu.setAttribute("aria-expanded", String(open));
      },
    }, "☰");
    const nav = h(
      "nav",
      routes.map((r) =>
        h(
          "a",
          { href: `#/${r.id}`, "aria-current": r === route ? "page" : null, id: `nav-${r.id}` },
          t(r.label)
        )
      )
    );
    const view = h("main.view", { id: "view" });
    const bar = h(
      "header.top",
      h(
        "a.brand",
        { href: `#/${routes[0].id}` },
        h("img", { src: "ui/common/icon.svg", alt: "", width: 28, height: 28 }),
        h("span", product),
        h("small", sub())
      ),
      menu,
      nav,
      h(
        "div.tools",
        langSelect(),
        h("span.who", { id: "who" }, api.displayName || api.username),
        h(
          "button.secondary",
          {
            type: "button",
            id: "logout",
            onclick: async () => {
              try {
                await api.logout();
              } catch (e) {
                /* the session is gone either way */
              }
              loginScreen(t("You have logged out."));
            },
          },
          t("Log out")
        )
      )
    );
    replace(root, bar, view, notices);
    fitNav();
    Promise.resolve(route.render(view, ctx)).catch((e) => {
      if (e.status !== 401) ctx.notice(e.message, "error");
    });
  }

  // The navigation is one row under the brand and the tools; when its
  // entries do not fit that row (a narrow window, a longer language, more
  // pages), it folds into the menu button, as on a phone (ui.css).
  function fitNav() {
    const bar = root.querySelector("header.top");
    const nav = bar && bar.querySelector("nav");
    if (!nav) return;
    bar.classList.remove("collapsed");
    if (nav.scrollWidth > nav.clientWidth + 1) bar.classList.add("collapsed");
  }
  window.addEventListener("resize", fitNav);

  window.addEventListener("hashchange", () => {
    if (api.csrf && routeOf() !== current) render();
  });

  api
    .resume()
    .then(() => render())
    .catch((e) => loginScreen(e.message));
  return ctx;
}

// A table with a header row; rows are arrays of cells (text or nodes).
export function table(headers, rows, empty) {
  if (!rows.length) return h("p.empty", empty);
  return h(
    "div.table-wrap",
    h(
      "table",
      h("thead", h("tr", headers.map((x) => h("th", { scope: "col" }, x)))),
      h(
        "tbody",
        rows.map((r) => h("tr", r.map((c, i) => h("td", { "data-label": headers[i] }, c))))
      )
    )
  );
}

// A labelled form field.
// A list row's Delete button: asks question, deletes path, tells deleted
// (a notice; none when empty) or what went wrong, and refreshes the list.
export function deleteButton(ctx, key, question, path, deleted, refresh) {
  return h("button.danger", {
    type: "button",
    "data-delete": key,
    onclick: async () => {
      if (!(await ctx.confirm(question, t("Delete")))) return;
      try {
        await ctx.api.del(path);
        if (deleted) ctx.notice(deleted);
      } catch (e) {
        ctx.notice(e.message, "error");
      }
      refresh();
    },
  }, t("Delete"));
}

export function field(label, input, help) {
  return h("label.field", h("span", label), input, help ? h("small", help) : null);
}

export function badge(state) {
  return h(`span.badge.${state}`, t(state));
}

// A Unix time as the page shows every date (format.js).
export function when(unix) {
  return dateTime(unix);
}

// A strong password (the server's own alphabet: no 0/O, 1/l/I).
export function strongPassword(n = 20) {
  const abc = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  const r = new Uint32Array(n);
  crypto.getRandomValues(r);
  return Array.from(r, (x) => abc[x % abc.length]).join("");
}
