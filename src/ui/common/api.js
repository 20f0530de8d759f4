// api — the one way the pages talk to the server: the public JSON API of
// docs/api.md, under "api/v1/" next to the page (/api/v1 for management,
// /<name>/api/v1 for a phone system). Login asks for a session cookie the
// page cannot read; every request that changes something carries the
// session's CSRF token, which lives only in this page's memory.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export class Api {
  constructor() {
    this.base = new URL("api/v1/", document.baseURI);
    this.csrf = null;
    this.username = null;
    this.role = null; // a phone system's: "admin" or "user" (a user's own login)
    this.onunauthorized = () => {};
  }

  url(path) {
    return new URL(path.replace(/^\//, ""), this.base).toString();
  }

  async request(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && this.csrf) headers["X-CSRF-Token"] = this.csrf;
    let res;
    try {
      res = await fetch(this.url(path), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch (e) {
      throw new ApiError(0, "the server cannot be reached");
    }
    return this.answer(res, path);
  }

  // The JSON of an answer; an error (and the login screen after a 401) if it failed.
  async answer(res, path) {
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
    if (!res.ok) {
      const msg = (data && data.error) || `${res.status} ${res.statusText}`;
      if (res.status === 401 && path !== "login" && path !== "session") this.onunauthorized();
      throw new ApiError(res.status, msg);
    }
    return data;
  }

  // A file as the body (a backup, an update bundle, a prompt), not JSON.
  async upload(path, file, method = "POST") {
    const headers = { Accept: "application/json", "Content-Type": "application/octet-stream" };
    if (this.csrf) headers["X-CSRF-Token"] = this.csrf;
    const res = await fetch(this.url(path), {
      method,
      headers,
      body: file,
      credentials: "same-origin",
    });
    return this.answer(res, path);
  }

  get(path) {
    return this.request("GET", path);
  }
  post(path, body = {}) {
    return this.request("POST", path, body);
  }
  put(path, body) {
    return this.request("PUT", path, body);
  }
  patch(path, body) {
    return this.request("PATCH", path, body);
  }
  del(path) {
    return this.request("DELETE", path);
  }

  // Is there a session already (a reload)? Learns its CSRF token if so.
  async resume() {
    const s = await this.request("GET", "session");
    this.csrf = s.logged_in ? s.csrf_token : null;
    this.username = s.logged_in ? s.username : null;
    this.role = s.logged_in ? s.role || "admin" : null;
    return s.logged_in;
  }

  async login(username, password) {
    const s = await this.request("POST", "login", { username, password, cookie: true });
    this.csrf = s.csrf_token;
    this.username = s.username;
    this.role = s.role || "admin";
  }

  async logout() {
    try {
      await this.request("POST", "logout", {});
    } finally {
      this.csrf = null;
      this.username = null;
      this.role = null;
    }
  }
}
