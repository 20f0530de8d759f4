/* sbc_sip — SIP at the SBC (see sbc_sip.c for what it does and why). */
#ifndef SBC_SIP_H
#define SBC_SIP_H

#include <jansson.h>

#include "../core/core_state.h"

struct sbc;
struct sbc_sip;

struct sbc_sip *sbc_sip_new(struct sbc *sbc);
void sbc_sip_free(struct sbc_sip *s);
/* For monitoring: {"sip-tls", "sip-tcp"} connections from phones now,
 * {"ports_in_use", "packets"} of the media relay, {"sip"} connections
 * refused for the per-address limit, and "overload": {"shedding", "shed",
 * "episodes"} (sbc_load.h). */
json_t *sbc_sip_stats(struct sbc_sip *s);
/* Listeners come as a whole set: reset, then add each ("sip-udp", "sip-tcp", "sip-tls"). */
void sbc_sip_reset_sockets(struct sbc_sip *s);
void sbc_sip_add_socket(struct sbc_sip *s, const char *service, int fd);
/* The media relay: {"port_min","port_max","timeout","srtp_required"}. */
void sbc_sip_configure_media(struct sbc_sip *s, const struct core_state_media *cfg);
/* TCP and TLS connections one address may hold (from the supervisor's state). */
void sbc_sip_set_per_address(struct sbc_sip *s, int n);
/* TCP and TLS connections open now. */
int sbc_sip_connections(const struct sbc_sip *s);
/* A link to phone system name's SIP socket now, not at the first request
 * for it: a phone system with trunks sends first (REGISTER to carriers). */
void sbc_sip_link_ps(struct sbc_sip *s, const char *name, const char *sock);

#endif
