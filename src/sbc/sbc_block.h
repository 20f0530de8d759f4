/*
 * sbc_block — the SBC's block list: addresses (or, under a flood of
 * sources, prefixes) that failed SIP authentication too often get no answer
 * at all. What counts: the phone system's answers it marks
 * `X-Zentrale-Auth-Failed` (a wrong digest, an unknown user, another's AOR —
 * never "403 Too Many Devices") and the SBC's own 403 for a domain that is
 * no phone system. Every block and every lift is reported to the supervisor
 * as a delta (IPC_SBC_BLOCKS, in chunks), which keeps the list and hands it
 * back to a restarted SBC (IPC_BLOCKS). It also keeps the log of failed
 * authentications the SBC sees, once per burst (core_authlog).
 */
#ifndef SBC_BLOCK_H
#define SBC_BLOCK_H

#include <stdbool.h>

#include <jansson.h>

#include "../core/core_ipc.h"
#include "../core/core_state.h"

struct sbc;
struct sbc_block;

struct sbc_block *sbc_block_new(struct sbc *sbc);
void sbc_block_free(struct sbc_block *b);
/* Whether the address gets no answer now. */
bool sbc_block_is_blocked(struct sbc_block *b, const char *addr);
/* A failed authentication from addr. */
void sbc_block_failed(struct sbc_block *b, const char *addr);
/* When to block, from the supervisor's state; blocks in place are kept
 * across a change. */
void sbc_block_configure(struct sbc_block *b, const struct core_state_block *cfg);
/* An administrator lifts a block (IPC_SBC_UNBLOCK). */
void sbc_block_unblock(struct sbc_block *b, const char *addr);
/* IPC_BLOCKS from the supervisor: blocks to put (back) in place. */
void sbc_block_restore(struct sbc_block *b, const struct core_ipc_msg *msg);
/* The log of failed SIP authentications the SBC sees (core_authlog):
 * unknown phone systems and blocked addresses (sbc_sip_authlog.c). */
struct core_authlog *sbc_block_authlog(struct sbc_block *b);

#endif
