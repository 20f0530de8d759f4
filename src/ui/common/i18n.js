// i18n — English (the default) and German. Keys are the English texts;
// codes the API returns (states, causes) get English words here too.
// The choice is kept in this browser (localStorage).

export const LANGS = [
  ["en", "English"],
  ["de", "Deutsch"],
];

const EN = {
  running: "running",
  starting: "starting",
  stopped: "stopped",
  failed: "failed",
  enabled: "enabled",
  disabled: "disabled",
  answered: "answered",
  missed: "not answered",
  caller_hangup: "caller hung up",
  callee_hangup: "callee hung up",
  busy: "busy",
  declined: "declined",
  unavailable: "unavailable",
  not_found: "no such extension",
  cancelled: "cancelled by the caller",
  no_answer: "no answer",
  media_timeout: "no media (ended by the SBC)",
};

const DE = {
  running: "läuft",
  starting: "startet",
  stopped: "gestoppt",
  failed: "ausgefallen",
  enabled: "aktiv",
  disabled: "gesperrt",
  answered: "angenommen",
  missed: "nicht angenommen",
  caller_hangup: "Anrufer hat aufgelegt",
  callee_hangup: "Angerufener hat aufgelegt",
  busy: "besetzt",
  declined: "abgelehnt",
  unavailable: "nicht erreichbar",
  not_found: "Nebenstelle unbekannt",
  cancelled: "vom Anrufer abgebrochen",
  no_answer: "keine Antwort",
  media_timeout: "keine Sprachdaten (vom SBC beendet)",
  "failed logins": "fehlgeschlagene Anmeldungen",
  "failed SIP authentication": "fehlgeschlagene SIP-Authentifizierung",

  "1–15 digits, unique in this phone system.": "1–15 Ziffern, eindeutig in dieser Telefonanlage.",
  "2–63 characters: a–z, 0–9 and -. Also its SIP domain and web address.":
    "2–63 Zeichen: a–z, 0–9 und -. Zugleich SIP-Domain und Webadresse.",
  "A strong SIP password is generated and shown once.":
    "Ein starkes SIP-Passwort wird erzeugt und einmal angezeigt.",
  "Account and settings": "Konto und Einstellungen",
  Account: "Konto",
  Actions: "Aktionen",
  Address: "Adresse",
  Addresses: "Adressen",
  "Admin password": "Admin-Passwort",
  "Aliases of {n}": "Aliasse von {n}",
  "Aliases saved.": "Aliasse gespeichert.",
  Aliases: "Aliasse",
  "At least 8 characters.": "Mindestens 8 Zeichen.",
  "At least 8 characters; for the phone system's own admin.":
    "Mindestens 8 Zeichen; für den Admin der Telefonanlage.",
  "Authentication user": "Authentifizierungsname",
  "Blocked addresses": "Gesperrte Adressen",
  "Blocked for": "Gesperrt für",
  Blocking: "Sperren",
  CPU: "CPU",
  "Call history": "Anrufliste",
  Calls: "Anrufe",
  Cancel: "Abbrechen",
  "Change password": "Passwort ändern",
  "Change your password": "Eigenes Passwort ändern",
  Close: "Schließen",
  "Connect a phone": "Telefon verbinden",
  Copied: "Kopiert",
  Copy: "Kopieren",
  "Create user": "Benutzer anlegen",
  Create: "Anlegen",
  Created: "Angelegt",
  "Creating…": "Wird angelegt…",
  "Current password": "Aktuelles Passwort",
  Dashboard: "Übersicht",
  "Delete {n} and all its data (users, call history)? This cannot be undone.":
    "{n} mit allen Daten (Benutzer, Anrufliste) löschen? Das lässt sich nicht rückgängig machen.",
  "Delete {u} ({e})? Its devices are logged off.": "{u} ({e}) löschen? Die Geräte werden abgemeldet.",
  Delete: "Löschen",
  Device: "Gerät",
  "Devices registered now. A device shows up here once it has logged in through the SBC.":
    "Jetzt angemeldete Geräte. Ein Gerät erscheint hier, sobald es sich über den SBC angemeldet hat.",
  Disk: "Festplatte",
  Duration: "Dauer",
  "Edit {u}": "{u} bearbeiten",
  Edit: "Bearbeiten",
  "Enabled: may register and call": "Aktiv: darf sich anmelden und telefonieren",
  "End silent calls after seconds": "Stille Gespräche beenden nach Sekunden",
  "Enter these settings in a desk phone or softphone (for example Linphone, baresip or a Yealink/Snom phone). Each user's SIP user name and password are on the Users page.":
    "Diese Einstellungen in ein Tisch- oder Softphone eintragen (z. B. Linphone, baresip oder ein Yealink-/Snom-Telefon). SIP-Benutzername und Passwort jedes Benutzers stehen auf der Seite Benutzer.",
  "Example SIP address": "Beispiel einer SIP-Adresse",
  "Example for baresip": "Beispiel für baresip",
  "Expires in": "Läuft ab in",
  Extension: "Nebenstelle",
  "Failed authentications": "Fehlgeschlagene Authentifizierungen",
  From: "Von",
  "Further SIP domains that reach this phone system, one per line.":
    "Weitere SIP-Domains, die diese Telefonanlage erreichen, eine pro Zeile.",
  "Generate a new SIP password": "Neues SIP-Passwort erzeugen",
  Generate: "Erzeugen",
  "Health fails below % free disk": "Health meldet Fehler unter % freiem Speicher",
  Interface: "Schnittstelle",
  "Interfaces saved and applied.": "Schnittstellen gespeichert und übernommen.",
  Interfaces: "Schnittstellen",
  Language: "Sprache",
  "Letters, digits and . _ - +; the extension if left empty.":
    "Buchstaben, Ziffern und . _ - +; leer bleibt es die Nebenstelle.",
  Link: "Verbindung",
  "Log in": "Anmelden",
  "Log out": "Abmelden",
  "Management on every interface": "Verwaltung auf allen Schnittstellen",
  "Management will listen only on {l}. If you reach it by another interface, you lose this page. Go on?":
    "Die Verwaltung lauscht dann nur auf {l}. Erreichen Sie sie über eine andere Schnittstelle, verlieren Sie diese Seite. Fortfahren?",
  Management: "Verwaltung",
  "Media encryption": "Medienverschlüsselung",
  Media: "Medien",
  Memory: "Arbeitsspeicher",
  Menu: "Menü",
  Name: "Name",
  "New password": "Neues Passwort",
  "New phone system": "Neue Telefonanlage",
  "New user": "Neuer Benutzer",
  Newer: "Neuere",
  "No address is blocked.": "Keine Adresse ist gesperrt.",
  "No calls yet.": "Noch keine Anrufe.",
  "No device is registered.": "Kein Gerät ist angemeldet.",
  "No interfaces found.": "Keine Schnittstellen gefunden.",
  "No older calls.": "Keine älteren Anrufe.",
  "No phone systems yet. Create the first one above.":
    "Noch keine Telefonanlagen. Legen Sie oben die erste an.",
  "No phone systems yet.": "Noch keine Telefonanlagen.",
  "No user matches.": "Kein Benutzer passt.",
  "No users yet. Create the first one.": "Noch keine Benutzer. Legen Sie den ersten an.",
  "Not available in this version of Zentrale.": "In dieser Version von Zentrale nicht verfügbar.",
  Older: "Ältere",
  Open: "Öffnen",
  "Outbound proxy": "Outbound-Proxy",
  "Password changed. Other sessions have been logged out.":
    "Passwort geändert. Andere Sitzungen wurden abgemeldet.",
  Password: "Passwort",
  "Phone system {n}": "Telefonanlage {n}",
  "Phone systems": "Telefonanlagen",
  "Phones on TLS must encrypt their media.": "Telefone über TLS müssen ihre Medien verschlüsseln.",
  "Plain SIP on 5060 (UDP and TCP)": "Unverschlüsseltes SIP auf 5060 (UDP und TCP)",
  "Plain SIP on port {p} (UDP/TCP, unencrypted) works only if the server's administrator has switched it on.":
    "Unverschlüsseltes SIP auf Port {p} (UDP/TCP) geht nur, wenn der Administrator des Servers es eingeschaltet hat.",
  Reason: "Grund",
  Registrations: "Anmeldungen",
  "Relay ports {a}–{b}.": "Relay-Ports {a}–{b}.",
  "Repeat the new password": "Neues Passwort wiederholen",
  "Require SRTP on 5061": "SRTP auf 5061 verlangen",
  Restarts: "Neustarts",
  Result: "Ergebnis",
  "SBC on every interface": "SBC auf allen Schnittstellen",
  "SBC settings saved and applied.": "SBC-Einstellungen gespeichert und übernommen.",
  SBC: "SBC",
  "SIP domain / registrar": "SIP-Domain / Registrar",
  "SIP domain": "SIP-Domain",
  "SIP over TLS on 5061, the phone systems' web pages on 443 and the SRTP media relay are always on.":
    "SIP über TLS auf 5061, die Webseiten der Telefonanlagen auf 443 und das SRTP-Medienrelay sind immer an.",
  "SIP password of {u}": "SIP-Passwort von {u}",
  "SIP password": "SIP-Passwort",
  "SIP user name": "SIP-Benutzername",
  "SRTP (SDES), mandatory": "SRTP (SDES), verpflichtend",
  Save: "Speichern",
  "Search name, extension, SIP user": "Name, Nebenstelle, SIP-Benutzer suchen",
  Search: "Suchen",
  "Server settings": "Server-Einstellungen",
  Server: "Server",
  Services: "Dienste",
  Serving: "Dienste",
  "Session Border Controller": "Session Border Controller",
  "Session lifetime in seconds": "Sitzungsdauer in Sekunden",
  "Settings saved.": "Einstellungen gespeichert.",
  Since: "Seit",
  Start: "Starten",
  State: "Zustand",
  Status: "Status",
  "Stop {n}? Its phones lose service until it is started again.":
    "{n} stoppen? Die Telefone sind außer Betrieb, bis sie wieder gestartet wird.",
  Stop: "Stoppen",
  "The admin password was set when the phone system was created.":
    "Das Admin-Passwort wurde beim Anlegen der Telefonanlage festgelegt.",
  "The new passwords differ.": "Die neuen Passwörter stimmen nicht überein.",
  "The server was started with --listen; the interfaces cannot be changed here.":
    "Der Server wurde mit --listen gestartet; die Schnittstellen lassen sich hier nicht ändern.",
  Time: "Zeit",
  To: "An",
  Transport: "Transport",
  Unblock: "Entsperren",
  "Unencrypted; only for phones that cannot do TLS.": "Unverschlüsselt; nur für Telefone ohne TLS.",
  "User name": "Benutzername",
  Users: "Benutzer",
  "Users and extensions": "Benutzer und Nebenstellen",
  "VPN tunnel on 8885": "VPN-Tunnel auf 8885",
  "Write it down or copy it now: it is shown only this once. Zentrale keeps only a digest of it.":
    "Jetzt notieren oder kopieren: Es wird nur dieses eine Mal angezeigt. Zentrale speichert nur einen Hashwert davon.",
  "You have logged out.": "Sie haben sich abgemeldet.",
  "Your session has ended. Please log in again.": "Ihre Sitzung ist abgelaufen. Bitte melden Sie sich neu an.",
  "Zentrale {v}, phone system up {u}.": "Zentrale {v}, Telefonanlage läuft seit {u}.",
  "block for seconds": "sperren für Sekunden",
  down: "getrennt",
  "live · updated {t}": "live · aktualisiert {t}",
  "the extension": "die Nebenstelle",
  "the same SIP user name": "derselbe SIP-Benutzername",
  "the user's SIP user name (normally the extension)": "der SIP-Benutzername des Benutzers (meist die Nebenstelle)",
  "up {d}": "läuft seit {d}",
  up: "verbunden",
  "within seconds": "innerhalb Sekunden",
  "{a} available of {b}; Zentrale {c}": "{a} frei von {b}; Zentrale {c}",
  "{a} free of {b}": "{a} frei von {b}",
  "{a} unblocked.": "{a} entsperrt.",
  "{n} cores, load {l}": "{n} Kerne, Last {l}",
  "{n} created; its admin password is the one you entered.":
    "{n} angelegt; das Admin-Passwort ist das eingegebene.",
  "{n} deleted.": "{n} gelöscht.",
  "{n} started.": "{n} gestartet.",
  "{n} stopped.": "{n} gestoppt.",
  "{u} deleted.": "{u} gelöscht.",
  "{u} saved.": "{u} gespeichert.",
};

const DICTS = { en: EN, de: DE };

export function getLang() {
  const l = localStorage.getItem("zentrale-lang");
  return l && DICTS[l] ? l : "en";
}

export function setLang(l) {
  if (DICTS[l]) localStorage.setItem("zentrale-lang", l);
  document.documentElement.lang = getLang();
}

// t("{n} deleted.", {n: "acme"}): the text in the chosen language.
export function t(key, vars) {
  let s = DICTS[getLang()][key] ?? EN[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

export const dictionaries = DICTS; // for the test that every text has a translation
