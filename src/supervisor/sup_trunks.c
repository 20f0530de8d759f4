/*
 * sup_trunks — each phone system's SIP trunks as its pbx announced them
 * (IPC_TRUNKS, docs/architecture.md, "Trunks"): checked with core_state's decoder
 * (a bad announce is refused whole and the earlier one kept), kept in
 * memory on the pbx's sup_child until the pbx exits (a restarted pbx
 * announces again), and put into IPC_STATE's phone-system objects as
 * "trunks" for the SBC.
 */
#include "supervisor.h"

#include <stdlib.h>

#include "../core/core_log.h"
#include "../core/core_state.h"

void sup_trunks_on_announce(struct sup *s, struct sup_child *c, const struct core_ipc_msg *msg)
{
	char label[96], err[256];
	json_t *j = core_ipc_json(msg), *list = j ? json_object_get(j, "trunks") : NULL;
	struct core_state_trunk *t = NULL;
	int n = 0;
	sup_child_label(c, label, sizeof(label));
	if (!list || core_state_trunks_decode(list, &t, &n, err, sizeof(err)) < 0) {
		log_warn("%s announced trunks that are refused: %s", label,
			 list ? err : "an object with \"trunks\" is required");
		json_decref(j);
		return;
	}
	free(t);
	json_decref(c->trunks);
	c->trunks = json_incref(list);
	json_decref(j);
	log_info("%s announced %d trunk%s", label, n, n == 1 ? "" : "s");
	sup_broadcast_state(s);
}

json_t *sup_trunks_of(const struct sup_child *c)
{
	return c->trunks ? json_incref(c->trunks) : NULL;
}

void sup_trunks_forget(struct sup_child *c)
{
	json_decref(c->trunks);
	c->trunks = NULL;
}
