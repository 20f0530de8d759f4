/*
 * core_ops — every operation mgmt asks the supervisor for (IPC_REQUEST),
 * one row each: its name on the wire (the request's "op") and what it
 * carries. The supervisor's table (sup_ops[] in sup_requests.c) gives each
 * its handler and its one validator; mgmt names an operation by its enum
 * (core_op_name) and checks nothing the supervisor checks. Adding an
 * operation: a row here, a row in sup_ops[] (docs/architecture.md).
 */
#ifndef CORE_OPS_H
#define CORE_OPS_H

#include <stddef.h>
#include <string.h>

/* X(ENUM, "wire name"): the request's fields are in the comment. */
#define CORE_OPS(X)                                                                                \
	X(CREATE, "create")			  /* {name, admin_hash} */                         \
	X(DELETE, "delete")			  /* {name} */                                     \
	X(START, "start")			  /* {name} */                                     \
	X(STOP, "stop")				  /* {name} */                                     \
	X(SET_INTERFACES, "set-interfaces")	  /* {management?, sbc?: [interface]} */           \
	X(SET_SBC, "set-sbc")			  /* {settings: PUT /sbc's body} */                \
	X(SET_ALIASES, "set-aliases")		  /* {name, aliases: [domain]} */                  \
	X(SIP_UNBLOCK, "sip-unblock")		  /* {address} */                                  \
	X(UPDATE, "update")			  /* {version, health_timeout} */                  \
	X(RESTORE, "restore")			  /* {name, from} */                               \
	X(TRACE_START, "trace-start")		  /* {phone_system, user?, seconds, max_bytes} */  \
	X(TRACE_STOP, "trace-stop")		  /* {id} */                                       \
	X(TRACE_DELETE, "trace-delete")		  /* {id} */                                       \
	X(VPN_GET, "vpn-get")			  /* {} */                                         \
	X(VPN_SET, "vpn-set")			  /* {enabled?, subnet?, host?} */                 \
	X(VPN_CLIENT_ADD, "vpn-client-add")	  /* {name} */                                     \
	X(VPN_CLIENT_REVOKE, "vpn-client-revoke") /* {name} */                                     \
	X(ADMIN_PASSWORD, "admin-password")	  /* {name, admin_hash} */                         \
	X(SET_NAT, "set-nat")			  /* {interface, nat: {…} or null} */

/* trace-start's bounds (sup_trace_check); mgmt serves pcaps up to the maximum. */
#define CORE_OP_TRACE_DEFAULT_SECONDS 300
#define CORE_OP_TRACE_MAX_SECONDS     3600
#define CORE_OP_TRACE_DEFAULT_BYTES   (5 * 1024 * 1024)
#define CORE_OP_TRACE_MAX_BYTES	      (50 * 1024 * 1024)
#define CORE_OP_TRACE_MIN_BYTES	      (64 * 1024)

#define CORE_OP_ENUM(e, s) CORE_OP_##e,
enum core_op { CORE_OPS(CORE_OP_ENUM) CORE_OP_COUNT };
#undef CORE_OP_ENUM

#define CORE_OP_NAME(e, s) [CORE_OP_##e] = s,
static const char *const core_op_names[CORE_OP_COUNT] = {CORE_OPS(CORE_OP_NAME)};
#undef CORE_OP_NAME

static inline const char *core_op_name(enum core_op op)
{
	return (unsigned)op < CORE_OP_COUNT ? core_op_names[op] : "?";
}

/* The operation named `name`, or -1. */
static inline int core_op_find(const char *name)
{
	for (int i = 0; name && i < CORE_OP_COUNT; i++)
		if (strcmp(core_op_names[i], name) == 0)
			return i;
	return -1;
}

#endif
