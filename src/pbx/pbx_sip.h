/*
 * pbx_sip — the phone system's SIP face: a Unix stream socket in
 * run/<name>/sip.sock that only the SBC reaches. The SBC has already dealt
 * with the network (TLS, UDP retransmissions, NAT); here each request is
 * answered: REGISTER by the registrar, OPTIONS with our capabilities,
 * everything else by the calls (pbx_call.h). The SBC's own headers (X-Zentrale-Source) are
 * trusted because nobody else can write to this socket. Our own requests
 * (MWI, BLF, the trunks' REGISTER and OPTIONS: pbx_trunk_reg) go on the
 * newest connection; their answers are told apart by Via branch prefix.
 */
#ifndef PBX_SIP_H
#define PBX_SIP_H

struct pbx;
struct pbx_sip;

struct pbx_sip *pbx_sip_new(struct pbx *p, int listen_fd);
void pbx_sip_free(struct pbx_sip *s);

#endif
