/*
 * core_state — the one decoder of the supervisor's state table (IPC_STATE)
 * into struct core_state (core_state.h): every field's type and bounds
 * checked, the whole message refused on the first that does not fit.
 */
#include "core_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The decoder's cursor: where to say what went wrong. */
struct dec {
	char *err;
	size_t errlen;
	const char *where; /* the object being read, for the message */
};

static int fail(struct dec *d, const char *key, const char *what)
{
	snprintf(d->err, d->errlen, "state: %s%s%s: %s", d->where, *d->where ? "." : "", key, what);
	return -1;
}

static int dec_str(struct dec *d, const json_t *o, const char *key, char *buf, size_t size)
{
	const json_t *v = json_object_get(o, key);
	if (!json_is_string(v))
		return fail(d, key, "a string is required");
	size_t n = json_string_length(v);
	if (n >= size || memchr(json_string_value(v), '\0', n))
		return fail(d, key, "too long");
	memcpy(buf, json_string_value(v), n + 1);
	return 0;
}

static int dec_int(struct dec *d, const json_t *o, const char *key, int64_t min, int64_t max,
		   int64_t *out)
{
	const json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		return fail(d, key, "an integer is required");
	if (json_integer_value(v) < min || json_integer_value(v) > max)
		return fail(d, key, "out of range");
	*out = json_integer_value(v);
	return 0;
}

static int dec_i(struct dec *d, const json_t *o, const char *key, int min, int max, int *out)
{
	int64_t v;
	if (dec_int(d, o, key, min, max, &v) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

static int dec_bool(struct dec *d, const json_t *o, const char *key, bool *out)
{
	const json_t *v = json_object_get(o, key);
	if (!json_is_boolean(v))
		return fail(d, key, "true or false is required");
	*out = json_is_true(v);
	return 0;
}

/* The array o[key] with at most max entries, or NULL (refused). */
static const json_t *dec_array(struct dec *d, const json_t *o, const char *key, size_t max)
{
	const json_t *v = json_object_get(o, key);
	if (!json_is_array(v))
		return fail(d, key, "a list is required"), NULL;
	if (json_array_size(v) > max)
		return fail(d, key, "too many entries"), NULL;
	return v;
}

static const json_t *dec_object(struct dec *d, const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	if (!json_is_object(v))
		return fail(d, key, "an object is required"), NULL;
	d->where = key;
	return v;
}

#define PID_MAX	 (1 << 22) /* Linux's pid_max limit */
#define TIME_MAX ((int64_t)1 << 40)

static const char *const ps_states[] = {"stopped", "starting", "running", "failed"};

const char *core_state_ps_state_name(enum core_state_ps_state s)
{
	return (unsigned)s < 4 ? ps_states[s] : "?";
}

static int dec_ps_state(struct dec *d, const json_t *o, enum core_state_ps_state *out)
{
	char buf[16];
	if (dec_str(d, o, "state", buf, sizeof(buf)) < 0)
		return -1;
	for (int i = 0; i < 4; i++)
		if (strcmp(buf, ps_states[i]) == 0)
			return *out = (enum core_state_ps_state)i, 0;
	return fail(d, "state", "not a phone system's state");
}

static int dec_aliases(struct dec *d, const json_t *o, struct core_state_ps *ps)
{
	const json_t *list = dec_array(d, o, "aliases", CORE_STATE_MAX_ALIASES), *it;
	size_t i;
	if (!list)
		return -1;
	if (json_array_size(list) == 0)
		return 0;
	ps->aliases = calloc(json_array_size(list), sizeof(*ps->aliases));
	if (!ps->aliases)
		return fail(d, "aliases", "out of memory");
	json_array_foreach(list, i, it)
	{
		size_t n = json_string_length(it);
		if (!json_is_string(it) || n == 0 || n >= CORE_STATE_DOMAIN_MAX ||
		    memchr(json_string_value(it), '\0', n))
			return fail(d, "aliases", "domains are required");
		memcpy(ps->aliases[ps->naliases++], json_string_value(it), n + 1);
	}
	return 0;
}

static const char *const trunk_tps[] = {"udp", "tcp", "tls"};

const char *core_state_trunk_tp_name(enum core_state_trunk_tp tp)
{
	return (unsigned)tp < 3 ? trunk_tps[tp] : "?";
}

/* One of names[] (n of them) into *out. */
static int dec_word(struct dec *d, const json_t *o, const char *key, const char *const *names,
		    int n, int *out)
{
	char buf[16];
	if (dec_str(d, o, key, buf, sizeof(buf)) < 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (strcmp(buf, names[i]) == 0)
			return *out = i, 0;
	return fail(d, key, "not one of the known words");
}

/* A host name or address with an optional port: printable, no spaces, no
 * characters that would end a SIP header field or URI part. */
static bool hostport_ok(const char *s, bool empty_ok)
{
	if (!*s)
		return empty_ok;
	for (; *s; s++)
		if (*s <= ' ' || *s >= 0x7f || strchr("\"<>;,@/?\\", *s))
			return false;
	return true;
}

static int dec_hostport(struct dec *d, const json_t *o, const char *key, char *buf, size_t size,
			bool empty_ok)
{
	if (dec_str(d, o, key, buf, size) < 0)
		return -1;
	if (!hostport_ok(buf, empty_ok))
		return fail(d, key, "a host[:port] is required");
	return 0;
}

/* A list of strings into out[max][size], each checked by ok (NULL: any
 * non-empty printable word). */
static int dec_strings(struct dec *d, const json_t *o, const char *key, char *out, size_t size,
		       int max, int *n, bool host)
{
	const json_t *list = dec_array(d, o, key, (size_t)max), *it;
	size_t i;
	if (!list)
		return -1;
	json_array_foreach(list, i, it)
	{
		size_t len = json_string_length(it);
		const char *v = json_string_value(it);
		if (!json_is_string(it) || len == 0 || len >= size || memchr(v, '\0', len))
			return fail(d, key, "names are required");
		if (host ? !hostport_ok(v, false)
			 : strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz012345678"
				     "9-_.") != len)
			return fail(d, key, "names are required");
		memcpy(out + (size_t)(*n)++ * size, v, len + 1);
	}
	return 0;
}

static int dec_trunk(struct dec *d, const json_t *o, struct core_state_trunk *t)
{
	int kind, tp;
	char dtmf[16];
	if (!json_is_object(o))
		return fail(d, "[]", "an object is required");
	if (dec_int(d, o, "id", 1, CORE_STATE_TRUNK_ID_MAX, &t->id) < 0 ||
	    dec_word(d, o, "kind", (const char *const[]){"register", "peer"}, 2, &kind) < 0 ||
	    dec_word(d, o, "transport", trunk_tps, 3, &tp) < 0 ||
	    dec_hostport(d, o, "domain", t->domain, sizeof(t->domain), true) < 0 ||
	    dec_hostport(d, o, "proxy", t->proxy, sizeof(t->proxy), true) < 0 ||
	    dec_strings(d, o, "peers", &t->peers[0][0], sizeof(t->peers[0]), CORE_STATE_MAX_PEERS,
			&t->npeers, true) < 0 ||
	    dec_str(d, o, "interface", t->interface, sizeof(t->interface)) < 0 ||
	    dec_bool(d, o, "srtp", &t->srtp) < 0 || dec_str(d, o, "dtmf", dtmf, sizeof(dtmf)) < 0 ||
	    dec_strings(d, o, "codecs", &t->codecs[0][0], sizeof(t->codecs[0]),
			CORE_STATE_MAX_CODECS, &t->ncodecs, false) < 0 ||
	    dec_bool(d, o, "enabled", &t->enabled) < 0)
		return -1;
	t->kind = (enum core_state_trunk_kind)kind;
	t->transport = (enum core_state_trunk_tp)tp;
	if (strcmp(dtmf, "info") != 0 && strcmp(dtmf, "rfc4733") != 0)
		return fail(d, "dtmf", "\"rfc4733\" or \"info\" is required");
	t->dtmf_info = strcmp(dtmf, "info") == 0;
	if (t->kind == CORE_TRUNK_REGISTER && !t->domain[0])
		return fail(d, "domain", "a register trunk needs one");
	if (t->kind == CORE_TRUNK_PEER && !t->npeers && !t->domain[0] && !t->proxy[0])
		return fail(d, "peers", "a peer trunk needs an address");
	return 0;
}

static int dec_trunk_list(struct dec *d, const json_t *list, struct core_state_trunk **out, int *n)
{
	const json_t *it;
	size_t i;
	*out = NULL;
	*n = 0;
	if (!json_is_array(list))
		return fail(d, "trunks", "a list is required");
	if (json_array_size(list) > CORE_STATE_MAX_TRUNKS)
		return fail(d, "trunks", "too many entries");
	if (json_array_size(list) == 0)
		return 0;
	struct core_state_trunk *t = calloc(json_array_size(list), sizeof(*t));
	if (!t)
		return fail(d, "trunks", "out of memory");
	json_array_foreach(list, i, it)
	{
		if (dec_trunk(d, it, &t[i]) < 0)
			goto bad;
		for (size_t k = 0; k < i; k++)
			if (t[k].id == t[i].id) {
				fail(d, "id", "twice");
				goto bad;
			}
	}
	*out = t;
	*n = (int)json_array_size(list);
	return 0;
bad:
	free(t);
	return -1;
}

int core_state_trunks_decode(const json_t *list, struct core_state_trunk **out, int *n, char *err,
			     size_t errlen)
{
	struct dec d = {err, errlen, "trunks[]"};
	return dec_trunk_list(&d, list, out, n);
}

static int dec_ps(struct dec *d, const json_t *o, struct core_state_ps *ps)
{
	int64_t created, since;
	d->where = "phone_systems";
	if (!json_is_object(o))
		return fail(d, "[]", "an object is required");
	if (dec_str(d, o, "name", ps->name, sizeof(ps->name)) < 0)
		return -1;
	if (!ps->name[0])
		return fail(d, "name", "must not be empty");
	if (dec_ps_state(d, o, &ps->state) < 0 ||
	    dec_str(d, o, "http_socket", ps->http_socket, sizeof(ps->http_socket)) < 0 ||
	    dec_str(d, o, "sip_socket", ps->sip_socket, sizeof(ps->sip_socket)) < 0 ||
	    dec_aliases(d, o, ps) < 0 || dec_int(d, o, "created", 0, TIME_MAX, &created) < 0 ||
	    dec_int(d, o, "since", 0, TIME_MAX, &since) < 0 ||
	    dec_i(d, o, "restarts", 0, INT32_MAX, &ps->restarts) < 0 ||
	    dec_i(d, o, "pid", 0, PID_MAX, &ps->pid) < 0 ||
	    dec_bool(d, o, "enabled", &ps->enabled) < 0)
		return -1;
	const json_t *trunks = json_object_get(o, "trunks"); /* absent: not announced yet */
	d->where = "phone_systems.trunks[]";
	if (trunks && dec_trunk_list(d, trunks, &ps->trunks, &ps->ntrunks) < 0)
		return -1;
	ps->created = created;
	ps->since = since;
	return 0;
}

static int dec_phone_systems(struct dec *d, const json_t *j, struct core_state *st)
{
	const json_t *list = dec_array(d, j, "phone_systems", CORE_STATE_MAX_PHONE_SYSTEMS), *it;
	size_t i;
	if (!list)
		return -1;
	st->phone_systems = calloc(json_array_size(list) + 1, sizeof(*st->phone_systems));
	if (!st->phone_systems)
		return fail(d, "phone_systems", "out of memory");
	json_array_foreach(list, i, it)
	{
		/* counted first, so core_state_free frees a half-decoded entry's aliases */
		if (dec_ps(d, it, &st->phone_systems[st->nphone_systems++]) < 0)
			return -1;
	}
	return 0;
}

static int dec_processes(struct dec *d, const json_t *j, struct core_state *st)
{
	const json_t *list = dec_array(d, j, "processes", CORE_STATE_MAX_PROCESSES), *it;
	size_t i;
	if (!list)
		return -1;
	st->processes = calloc(json_array_size(list) + 1, sizeof(*st->processes));
	if (!st->processes)
		return fail(d, "processes", "out of memory");
	d->where = "processes";
	json_array_foreach(list, i, it)
	{
		struct core_state_process *p = &st->processes[st->nprocesses++];
		if (!json_is_object(it))
			return fail(d, "[]", "an object is required");
		if (dec_str(d, it, "role", p->role, sizeof(p->role)) < 0 ||
		    dec_str(d, it, "name", p->name, sizeof(p->name)) < 0 ||
		    dec_i(d, it, "pid", 1, PID_MAX, &p->pid) < 0)
			return -1;
	}
	return 0;
}

static int dec_ifaces(struct dec *d, const json_t *o, const char *key,
		      char out[][CORE_STATE_IFACE_MAX], int *n)
{
	const json_t *list = dec_array(d, o, key, CORE_STATE_MAX_IFACES), *it;
	size_t i;
	if (!list)
		return -1;
	json_array_foreach(list, i, it)
	{
		size_t len = json_string_length(it);
		if (!json_is_string(it) || len >= CORE_STATE_IFACE_MAX ||
		    memchr(json_string_value(it), '\0', len))
			return fail(d, key, "interface names are required");
		memcpy(out[(*n)++], json_string_value(it), len + 1);
	}
	return 0;
}

static int dec_listen(struct dec *d, const json_t *j, struct core_state *st)
{
	const json_t *o = dec_object(d, j, "listen"), *socks, *it;
	size_t i;
	if (!o || dec_bool(d, o, "fixed", &st->listen.fixed) < 0 ||
	    dec_bool(d, o, "plain_sip", &st->listen.plain_sip) < 0 ||
	    dec_ifaces(d, o, "management", st->listen.management, &st->listen.nmanagement) < 0 ||
	    dec_ifaces(d, o, "sbc", st->listen.sbc, &st->listen.nsbc) < 0 ||
	    !(socks = dec_array(d, o, "sockets", CORE_STATE_MAX_SOCKETS)))
		return -1;
	d->where = "listen.sockets";
	json_array_foreach(socks, i, it)
	{
		struct core_state_socket *k = &st->listen.sockets[st->listen.nsockets++];
		if (!json_is_object(it))
			return fail(d, "[]", "an object is required");
		if (dec_str(d, it, "service", k->service, sizeof(k->service)) < 0 ||
		    dec_str(d, it, "addr", k->addr, sizeof(k->addr)) < 0 ||
		    dec_i(d, it, "port", 0, 65535, &k->port) < 0)
			return -1;
	}
	return 0;
}

static int dec_traces(struct dec *d, const json_t *j, struct core_state *st)
{
	const json_t *list = dec_array(d, j, "traces", CORE_STATE_MAX_TRACES), *it;
	size_t i;
	if (!list)
		return -1;
	d->where = "traces";
	json_array_foreach(list, i, it)
	{
		struct core_state_trace *t = &st->traces[st->ntraces++];
		if (!json_is_object(it))
			return fail(d, "[]", "an object is required");
		if (dec_str(d, it, "id", t->id, sizeof(t->id)) < 0 ||
		    dec_str(d, it, "phone_system", t->phone_system, sizeof(t->phone_system)) < 0 ||
		    dec_str(d, it, "user", t->user, sizeof(t->user)) < 0 ||
		    dec_str(d, it, "path", t->path, sizeof(t->path)) < 0 ||
		    dec_int(d, it, "started", 0, TIME_MAX, &t->started) < 0 ||
		    dec_int(d, it, "until", 0, TIME_MAX, &t->until) < 0 ||
		    dec_int(d, it, "max_bytes", 0, INT64_C(1) << 40, &t->max_bytes) < 0)
			return -1;
	}
	return 0;
}

/* A list of networks (CIDR, core_nat) into nets. */
static int dec_nets(struct dec *d, const json_t *o, const char *key, struct core_nat_net *nets,
		    int max, int *n)
{
	const json_t *list = dec_array(d, o, key, (size_t)max), *it;
	size_t i;
	const char *why;
	if (!list)
		return -1;
	json_array_foreach(list, i, it)
	{
		if (!json_is_string(it) ||
		    core_nat_net_parse(json_string_value(it), &nets[*n], &why) < 0)
			return fail(d, key, "a network (CIDR) is required");
		(*n)++;
	}
	return 0;
}

/* "sbc_nat": optional (a state without it has none). */
static int dec_nat(struct dec *d, const json_t *j, struct core_state *st)
{
	if (!json_object_get(j, "sbc_nat"))
		return 0;
	const json_t *list = dec_array(d, j, "sbc_nat", CORE_STATE_MAX_NAT), *it;
	size_t i;
	if (!list)
		return -1;
	d->where = "sbc_nat";
	json_array_foreach(list, i, it)
	{
		struct core_state_nat *n = &st->nat[st->nnat++];
		struct sockaddr_storage ss;
		char host[CORE_NAT_HOST_MAX];
		int port;
		const char *why;
		if (!json_is_object(it))
			return fail(d, "[]", "an object is required");
		if (dec_str(d, it, "interface", n->interface, sizeof(n->interface)) < 0 ||
		    dec_str(d, it, "external_address", n->external, sizeof(n->external)) < 0 ||
		    dec_str(d, it, "stun_server", n->stun, sizeof(n->stun)) < 0 ||
		    dec_nets(d, it, "addresses", n->addrs, CORE_NAT_MAX_ADDRS, &n->naddrs) < 0 ||
		    dec_nets(d, it, "inside", n->inside, CORE_NAT_MAX_NETS, &n->ninside) < 0)
			return -1;
		if (!*n->interface)
			return fail(d, "interface", "a name is required");
		if (!*n->external == !*n->stun)
			return fail(d, "external_address", "either it or stun_server is required");
		if (*n->external && core_nat_ip_parse(n->external, &ss) < 0)
			return fail(d, "external_address", "an IP address is required");
		if (*n->stun && core_nat_hostport_parse(n->stun, 3478, host, &port, &why) < 0)
			return fail(d, "stun_server", why);
	}
	return 0;
}

static int dec_settings(struct dec *d, const json_t *j, struct core_state *st)
{
	/* Settings are positive ints here; what a value means (and whether it
	 * is taken) is for whoever uses it, as PUT /sbc checks what is stored. */
	const json_t *b = dec_object(d, j, "sip_block");
	if (!b || dec_i(d, b, "failures", 1, INT32_MAX, &st->sip_block.failures) < 0 ||
	    dec_i(d, b, "window", 1, INT32_MAX, &st->sip_block.window) < 0 ||
	    dec_i(d, b, "seconds", 1, INT32_MAX, &st->sip_block.seconds) < 0)
		return -1;
	const json_t *m = dec_object(d, j, "sip_media");
	if (!m || dec_i(d, m, "port_min", 0, INT32_MAX, &st->sip_media.port_min) < 0 ||
	    dec_i(d, m, "port_max", 0, INT32_MAX, &st->sip_media.port_max) < 0 ||
	    dec_i(d, m, "timeout", 1, INT32_MAX, &st->sip_media.timeout) < 0 ||
	    dec_bool(d, m, "srtp_required", &st->sip_media.srtp_required) < 0)
		return -1;
	const json_t *c = dec_object(d, j, "sbc_connections");
	if (!c ||
	    dec_i(d, c, "https_per_address", 1, INT32_MAX, &st->sbc_connections.https_per_address) <
		    0 ||
	    dec_i(d, c, "sip_per_address", 1, INT32_MAX, &st->sbc_connections.sip_per_address) < 0)
		return -1;
	const json_t *v = dec_object(d, j, "vpn");
	if (!v || dec_bool(d, v, "enabled", &st->vpn.enabled) < 0 ||
	    dec_bool(d, v, "running", &st->vpn.running) < 0 ||
	    dec_i(d, v, "port", 0, 65535, &st->vpn.port) < 0 ||
	    dec_str(d, v, "subnet", st->vpn.subnet, sizeof(st->vpn.subnet)) < 0 ||
	    dec_str(d, v, "address", st->vpn.address, sizeof(st->vpn.address)) < 0 ||
	    dec_str(d, v, "host", st->vpn.host, sizeof(st->vpn.host)) < 0 ||
	    dec_str(d, v, "interface", st->vpn.interface, sizeof(st->vpn.interface)) < 0 ||
	    dec_str(d, v, "error", st->vpn.error, sizeof(st->vpn.error)) < 0)
		return -1;
	return 0;
}

int core_state_decode(const json_t *j, struct core_state *st, char *err, size_t errlen)
{
	struct dec d = {err, errlen, ""};
	memset(st, 0, sizeof(*st));
	if (!json_is_object(j)) {
		snprintf(err, errlen, "state: an object is required");
		return -1;
	}
	if (dec_int(&d, j, "started", 0, TIME_MAX, &st->started) < 0 ||
	    dec_str(&d, j, "version", st->version, sizeof(st->version)) < 0 ||
	    dec_processes(&d, j, st) < 0 || dec_phone_systems(&d, j, st) < 0 ||
	    dec_listen(&d, j, st) < 0 || (d.where = "", dec_traces(&d, j, st)) < 0 ||
	    (d.where = "", dec_settings(&d, j, st)) < 0 || (d.where = "", dec_nat(&d, j, st)) < 0) {
		core_state_free(st);
		return -1;
	}
	return 0;
}

int core_state_parse(const char *data, size_t len, struct core_state *st, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		memset(st, 0, sizeof(*st));
		snprintf(err, errlen, "state: not JSON (%s)", je.text);
		return -1;
	}
	int r = core_state_decode(j, st, err, errlen);
	json_decref(j);
	return r;
}

void core_state_free(struct core_state *st)
{
	for (int i = 0; st->phone_systems && i < st->nphone_systems; i++) {
		free(st->phone_systems[i].aliases);
		free(st->phone_systems[i].trunks);
	}
	free(st->phone_systems);
	free(st->processes);
	memset(st, 0, sizeof(*st));
}

const struct core_state_ps *core_state_find_ps(const struct core_state *st, const char *name,
					       size_t len)
{
	for (int i = 0; i < st->nphone_systems; i++)
		if (strlen(st->phone_systems[i].name) == len &&
		    memcmp(st->phone_systems[i].name, name, len) == 0)
			return &st->phone_systems[i];
	return NULL;
}
