"""Media with carriers (issue 18 point 6). Today: early media — a 183
Session Progress with SDP from the called side reaches the caller with its
media relayed (the ringback tone heard before the answer), across RTP and
SRTP, through the phone system's B2BUA (pbx_call.c relays the first 183
with SDP to the caller) and the SBC (which anchors SDP in provisional
answers as in final ones). The tone is proven by its Goertzel power in
what the caller decodes, not by a packet arriving. The carrier cases
(codecs, RFC 4733 <-> INFO, SRTP towards a carrier) need the SBC's trunk
direction and are not here yet."""
import audioop
import math
import socket
import struct

from pylibsrtp import Policy, Session

from test_prompts import goertzel
from test_sip_media import MediaPhone, hang_up, media_of, srv  # noqa: F401 (fixture)


def ulaw_tone(freq, n, rate=8000):
    """n 20 ms frames of a tone, μ-law."""
    pcm = struct.pack(f"<{160 * n}h", *(int(8000 * math.sin(2 * math.pi * freq * i / rate))
                                        for i in range(160 * n)))
    ulaw = audioop.lin2ulaw(pcm, 2)
    return [ulaw[i * 160:(i + 1) * 160] for i in range(n)]


def rtp(seq, payload, ssrc):
    return struct.pack("!BBHII", 0x80, 0, seq, seq * 160, ssrc) + payload


def decoded(sock, srtp=None, want=25):
    """What arrives at sock (unprotected with srtp if given), as 8 kHz PCM."""
    pcm = b""
    sock.settimeout(2)
    for _ in range(want):
        try:
            data, _ = sock.recvfrom(2048)
        except socket.timeout:
            break
        if srtp:
            data = srtp.unprotect(data)
        pcm += audioop.ulaw2lin(data[12:], 2)
    return struct.unpack(f"<{len(pcm) // 2}h", pcm)


def tone_is(samples, freq):
    p = goertzel(samples, 8000, freq)
    others = [goertzel(samples, 8000, f) for f in (freq * 0.5, freq * 1.7, 1500, 3100)]
    return len(samples) >= 8000 // 4 and p > 100 * max(others), (p, others)


def test_early_media_tone_reaches_caller_before_answer_rtp_to_srtp(srv):  # noqa: F811
    a, b = MediaPhone(srv, "100", "tls"), MediaPhone(srv, "101", "udp")
    try:
        call = a.call(b.user, body=a.sdp())
        inv = b.request("INVITE")
        bc = b.accept(inv)
        b_addr, b_port, b_key, _ = media_of(inv.body)
        assert b_key is None  # plain RTP to the UDP phone
        b.answer(inv, 183, body=b.sdp(), tag=bc["tag"])
        r = call["resp"]
        while r.status < 183:
            r = a.response("INVITE", skip_100=True)
        assert r.status == 183 and r.body, r.status
        a_addr, a_port, sbc_key, a_text = media_of(r.body)
        assert "RTP/SAVP" in a_text and sbc_key  # the caller's leg is SRTP
        # ringback (425 Hz) from the called side, before any answer
        for i, frame in enumerate(ulaw_tone(425, 30)):
            b.rtp.sendto(rtp(i, frame, 0x4711), (b_addr, b_port))
        inn = Session(Policy(key=sbc_key, ssrc_type=Policy.SSRC_ANY_INBOUND))
        ok, figures = tone_is(decoded(a.rtp, inn), 425)
        assert ok, figures
        # and the caller's audio crosses the other way before the answer too
        out = Session(Policy(key=a.key, ssrc_type=Policy.SSRC_ANY_OUTBOUND))
        for i, frame in enumerate(ulaw_tone(1000, 30)):
            a.rtp.sendto(out.protect(rtp(i, frame, 0x1234)), (a_addr, a_port))
        ok, figures = tone_is(decoded(b.rtp), 1000)
        assert ok, figures
        b.answer(inv, 200, body=b.sdp(), tag=bc["tag"])
        final = a.response("INVITE")
        assert final.status == 200
        a.confirm(call, final)
        b.request("ACK")
        hang_up(a, b, call)
    finally:
        a.close()
        b.close()
