"""Run by test_vpn.py inside the phone's network namespace: extension 201
registers through the VPN tunnel, 202 over the outside network, 201 calls
202, and RTP goes both ways through the SBC's relay. Prints what each side
saw as JSON. Usage: vpn_call.py PORT_OFFSET TUNNEL_ADDRESS OUTSIDE_ADDRESS"""
import json
import socket
import sys

from sipua import Phone, rtp_pair
from test_sip_media import establish, hang_up, rtp


class RtpPhone(Phone):
    def __init__(self, port, ext, server):
        rtp_port, rtp, self._rtcp = rtp_pair("0.0.0.0")
        rtp.close()  # the port is known free; it is bound on the phone's address below
        super().__init__("udp", port, ext, f"acme-{ext}-secret", "acme",
                         rtp_port=rtp_port, server=server)
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind((self.ip, self.rtp_port))
        self.rtp.settimeout(3)
        assert self.register() == 200


def main():
    offset, tunnel, outside = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    a = RtpPhone(5060 + offset, "201", tunnel)
    b = RtpPhone(5060 + offset, "202", outside)
    call, _, (a_addr, a_port, _, _), (b_addr, b_port, _, _) = establish(a, b)
    for i in range(3):
        a.rtp.sendto(rtp(i, b"A" * 160), (a_addr, a_port))
    b_got, _ = b.rtp.recvfrom(2048)
    for i in range(3):
        b.rtp.sendto(rtp(i, b"B" * 160, 0x99), (b_addr, b_port))
    a_got, _ = a.rtp.recvfrom(2048)
    hang_up(a, b, call)
    print(json.dumps({"a_ip": a.ip, "a_media": a_addr, "b_media": b_addr,
                      "b_got": b_got[12:].decode(), "a_got": a_got[12:].decode()}))


if __name__ == "__main__":
    main()
