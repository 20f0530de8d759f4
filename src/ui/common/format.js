// format — how both UIs write dates, times and spans of time: one format per
// language, used everywhere (never the browser's own locale, never ISO on
// one page and "1.12." on the next).
//   English: 1 Dec 2026, 20:09:05   German: 01.12.2026, 20:09:05
//   spans:   45 s · 2 min · 3 h 4 min · 1 day 3 h · 5 days   (German: 1 Tag 3 h, 5 Tage)
//   a call's length: 0:45 · 12:03 · 1:02:03

import { getLang, t } from "./i18n.js";

const LOCALE = { en: "en-GB", de: "de-DE" };
const DATE = {
  en: { day: "numeric", month: "short", year: "numeric" },
  de: { day: "2-digit", month: "2-digit", year: "numeric" },
};
const CLOCK = { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };

function asDate(x) {
  return x instanceof Date ? x : new Date(x * 1000);
}

// A moment (Unix seconds or a Date) with its date and time; "–" for none.
export function dateTime(x) {
  if (!x) return "–";
  const l = getLang();
  return asDate(x).toLocaleString(LOCALE[l], { ...DATE[l], ...CLOCK });
}

// Only the date.
export function dateOnly(x) {
  if (!x) return "–";
  const l = getLang();
  return asDate(x).toLocaleDateString(LOCALE[l], DATE[l]);
}

// Only the time of day (for "updated 20:09:05").
export function clockTime(x = new Date()) {
  return asDate(x).toLocaleTimeString(LOCALE[getLang()], CLOCK);
}

// A span of time for a person: uptime, "blocked for", "expires in".
export function span(seconds) {
  const s = Math.max(0, Math.round(seconds || 0));
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), mm = Math.floor((s % 3600) / 60);
  if (d >= 1) {
    const days = d === 1 ? t("1 day") : t("{n} days", { n: d });
    return d < 7 && hh ? `${days} ${t("{n} h", { n: hh })}` : days;
  }
  if (hh) return mm ? `${t("{n} h", { n: hh })} ${t("{n} min", { n: mm })}` : t("{n} h", { n: hh });
  if (mm) return t("{n} min", { n: mm });
  return t("{n} s", { n: s });
}

// The length of a call, as a phone shows it: m:ss, h:mm:ss.
export function callDuration(seconds) {
  const s = Math.max(0, Math.round(seconds || 0));
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = String(s % 60).padStart(2, "0");
  return hh ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}
