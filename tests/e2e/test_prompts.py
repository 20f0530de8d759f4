"""Prompts and music (pbx_prompts): the built-in set made at the first start
(every catalogue name, in English and German, and the music), uploads of
WAV, MP3 and OGG files converted to 16 kHz mono and played back instead of
the built-in clip, what is refused (not audio, too long, too big, unknown
names, no login), reverting, and the phone system's language setting."""
import array
import io
import math
import os
import subprocess
import wave

import pytest

from conftest import Server, curl

PS = "voice-co"
PS_PW = "voice-admin-pw-1"


@pytest.fixture(scope="module")
def srv():
    s = Server().start()
    s.create_ps(PS, PS_PW)
    assert s.wait_state(PS, "running", 20)
    s.ps_token = s.pbx_token(PS, PS_PW)
    yield s
    s.cleanup()


def call(s, method, path, data=None, token=True, timeout=120):
    """A request to the phone system's API with a binary body (bytes) and
    answer; returns (status, body bytes, content type)."""
    cmd = ["curl", "-sk", "-X", method, "--max-time", str(timeout), "-o", "-",
           "-w", "\n%{http_code} %{content_type}"]
    if token:
        cmd += ["-H", f"Authorization: Bearer {s.ps_token}"]
    if data is not None:
        cmd += ["-H", "Content-Type: application/octet-stream", "--data-binary", "@-"]
    cmd.append(s.sbc(f"/{PS}/api/v1{path}"))
    out = subprocess.run(cmd, capture_output=True, input=data, timeout=timeout + 10).stdout
    body, _, tail = out.rpartition(b"\n")
    status, _, ctype = tail.decode().partition(" ")
    return int(status or 0), body, ctype


def json_of(body):
    import json
    return json.loads(body)


def pcm_of(wav_bytes):
    """(rate, channels, samples) of a 16-bit WAV."""
    with wave.open(io.BytesIO(wav_bytes)) as w:
        assert w.getsampwidth() == 2
        frames = w.readframes(w.getnframes())
        a = array.array("h")
        a.frombytes(frames)
        return w.getframerate(), w.getnchannels(), a


def goertzel(samples, rate, freq):
    """The power of one frequency in samples (normalised by the count)."""
    k = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + k * s1 - s2, s1
    return (s1 * s1 + s2 * s2 - k * s1 * s2) / max(len(samples), 1) ** 2


def tone_at(samples, rate, freq):
    """The tone at freq stands out from others (the middle second of it)."""
    mid = samples[len(samples) // 4: len(samples) // 4 + rate]
    p = goertzel(mid, rate, freq)
    others = [goertzel(mid, rate, f) for f in (freq * 0.5, freq * 1.7, 1500, 3100)]
    return p > 100 * max(others), (p, others)


def sox(tmp_path, name, *effect, rate=44100, channels=2):
    out = str(tmp_path / name)
    subprocess.run(["sox", "-n", "-r", str(rate), "-c", str(channels), out] + list(effect),
                   check=True, capture_output=True)
    return out


def read(path):
    with open(path, "rb") as f:
        return f.read()


def test_the_built_in_set_has_every_name_in_both_languages(srv):
    # the first GET of a clip waits for the set the phone system makes at its first start
    st, body, ctype = call(srv, "GET", "/prompts/vm-goodbye")
    assert st == 200 and ctype.startswith("audio/wav"), (st, body[:200], srv.log())
    st, body, _ = call(srv, "GET", "/prompts")
    assert st == 200
    listing = json_of(body)
    names = [p["name"] for p in listing["prompts"]]
    assert listing["language"] == "en"
    for n in ("vm-greeting-default", "vm-leave-message", "vm-menu-main", "digit-0", "number-20",
              "number-90", "number-100", "number-21", "company-greeting", "moh", "beep"):
        assert n in names, n
    assert all(p["source"] == "built-in" for p in listing["prompts"])
    root = os.path.join(srv.data, "prompts")
    sets = [d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d))
            and ".tmp-" not in d]
    assert len(sets) == 1, sets
    base = os.path.join(root, sets[0])
    for n in names:
        if n == "moh":
            continue
        for lang in ("en", "de"):
            path = os.path.join(base, lang, f"{n}.wav")
            assert os.path.exists(path), path
            rate, ch, pcm = pcm_of(read(path))
            assert rate == 16000 and ch == 1 and len(pcm) > 0, path
            if n != "company-greeting":  # silence until uploaded
                assert max(abs(x) for x in pcm) > 1000, f"{path} is silent"
    tracks = os.listdir(os.path.join(base, "moh"))
    assert len(tracks) >= 5 and all(t.endswith(".wav") for t in tracks), tracks
    # German is another recording than English; numbers say words, not digits
    st, en, _ = call(srv, "GET", "/prompts/number-21?language=en")
    st2, de, _ = call(srv, "GET", "/prompts/number-21?language=de")
    assert st == st2 == 200 and en != de
    assert call(srv, "GET", "/prompts/number-21?language=fr")[0] == 400
    # the music: whole tracks, minutes of them, at 16 kHz
    st, body, _ = call(srv, "GET", "/prompts/moh")
    rate, _, pcm = pcm_of(body)
    assert st == 200 and rate == 16000 and 60 * rate < len(pcm) <= 600 * rate


def test_a_wav_upload_plays_instead_and_delete_reverts(srv, tmp_path):
    st, builtin, _ = call(srv, "GET", "/prompts/company-greeting")
    rate, _, pcm = pcm_of(builtin)
    assert st == 200 and max(abs(x) for x in pcm) == 0  # silence until uploaded
    wav = sox(tmp_path, "tone.wav", "synth", "2", "sine", "440", "vol", "0.5")
    st, body, _ = call(srv, "PUT", "/prompts/company-greeting?filename=tone.wav", read(wav))
    assert st == 200, body
    e = json_of(body)
    assert e["source"] == "uploaded" and "tone.wav" in e["original"], e
    assert abs(e["seconds"] - 2.0) < 0.05
    st, body, ctype = call(srv, "GET", "/prompts/company-greeting")
    assert st == 200 and ctype.startswith("audio/wav")
    rate, ch, pcm = pcm_of(body)
    assert rate == 16000 and ch == 1 and abs(len(pcm) - 32000) < 400, (rate, ch, len(pcm))
    ok, why = tone_at(pcm, rate, 440)
    assert ok, why
    listing = json_of(call(srv, "GET", "/prompts")[1])
    entry = [p for p in listing["prompts"] if p["name"] == "company-greeting"][0]
    assert entry["source"] == "uploaded"
    # a second upload replaces the first
    wav2 = sox(tmp_path, "tone2.wav", "synth", "1", "sine", "1000", rate=8000, channels=1)
    assert call(srv, "PUT", "/prompts/company-greeting", read(wav2))[0] == 200
    rate, _, pcm = pcm_of(call(srv, "GET", "/prompts/company-greeting")[1])
    assert tone_at(pcm, rate, 1000)[0] and not tone_at(pcm, rate, 440)[0]
    # DELETE: the built-in clip again
    st, body, _ = call(srv, "DELETE", "/prompts/company-greeting")
    assert st == 200 and json_of(body)["source"] == "built-in"
    assert call(srv, "GET", "/prompts/company-greeting")[1] == builtin
    # deleting again is harmless
    assert call(srv, "DELETE", "/prompts/company-greeting")[0] == 200


def test_mp3_and_ogg_uploads_are_converted(srv, tmp_path):
    wav = sox(tmp_path, "t.wav", "synth", "3", "sine", "660", "vol", "0.5")
    mp3 = str(tmp_path / "t.mp3")
    subprocess.run(["lame", "--quiet", "-b", "64", wav, mp3], check=True)
    st, body, _ = call(srv, "PUT", "/prompts/vm-goodbye?filename=t.mp3", read(mp3))
    assert st == 200, body
    rate, ch, pcm = pcm_of(call(srv, "GET", "/prompts/vm-goodbye")[1])
    assert rate == 16000 and ch == 1 and abs(len(pcm) - 3 * 16000) < 3000, len(pcm)
    assert tone_at(pcm, rate, 660)[0]
    # an upload plays in every language
    assert call(srv, "GET", "/prompts/vm-goodbye?language=de")[1] == \
        call(srv, "GET", "/prompts/vm-goodbye?language=en")[1]

    ogg = sox(tmp_path, "t.ogg", "synth", "2", "sine", "880", "vol", "0.5", rate=48000)
    st, body, _ = call(srv, "PUT", "/prompts/moh?filename=t.ogg", read(ogg))
    assert st == 200, body
    rate, _, pcm = pcm_of(call(srv, "GET", "/prompts/moh")[1])
    assert abs(len(pcm) - 2 * 16000) < 2000 and tone_at(pcm, rate, 880)[0]
    for n in ("vm-goodbye", "moh"):
        assert call(srv, "DELETE", f"/prompts/{n}")[0] == 200


def test_what_is_refused(srv, tmp_path):
    st, body, _ = call(srv, "PUT", "/prompts/company-greeting", b"this is no audio file " * 50)
    assert st == 400 and b"not usable as audio" in body, body
    st, body, _ = call(srv, "PUT", "/prompts/company-greeting", os.urandom(20000))
    assert st == 400 and b"not usable as audio" in body, body
    st, body, _ = call(srv, "PUT", "/prompts/company-greeting", b"")
    assert st == 400 and b"empty" in body, body
    # longer than the limit: speech 2 minutes, music 10
    long = sox(tmp_path, "long.wav", "synth", "150", "sine", "300", rate=8000, channels=1)
    st, body, _ = call(srv, "PUT", "/prompts/vm-goodbye", read(long))
    assert st == 400 and b"too long" in body and b"120 s" in body, body
    assert call(srv, "PUT", "/prompts/moh", read(long))[0] == 200
    assert call(srv, "DELETE", "/prompts/moh")[0] == 200
    # bigger than the body limit (24 MB)
    st, body, _ = call(srv, "PUT", "/prompts/moh", b"\0" * (25 << 20))
    assert st == 413, (st, body[:200])
    # names not in the catalogue
    tone = read(sox(tmp_path, "s.wav", "synth", "1", "sine", "440"))
    for method, data in (("PUT", tone), ("GET", None), ("DELETE", None)):
        st, body, _ = call(srv, method, "/prompts/no-such-prompt", data)
        assert st == 404, (method, st, body)
    assert call(srv, "PUT", "/prompts/..%2Fen%2Fmoh", tone)[0] == 404
    # a file name too long or with control characters is refused, not cut
    for q in ("x" * 300, "a%0Ab", "a%00b", "%zz"):
        st, body, _ = call(srv, "PUT", f"/prompts/company-greeting?filename={q}", tone)
        assert st == 400 and b"filename" in body, (q, st, body)
    assert call(srv, "GET", "/prompts/moh?language=" + "e" * 40)[0] == 400
    assert call(srv, "POST", "/prompts/moh", tone)[0] == 405
    assert call(srv, "PUT", "/prompts", tone)[0] == 405
    # not logged in: 401, and a large body is not even read
    for method, path, data in (("GET", "/prompts", None), ("GET", "/prompts/moh", None),
                               ("PUT", "/prompts/moh", tone), ("DELETE", "/prompts/moh", None)):
        assert call(srv, method, path, data, token=False)[0] == 401, (method, path)
    assert call(srv, "PUT", "/prompts/moh", b"\0" * (2 << 20), token=False)[0] == 413
    # nothing of that changed anything
    listing = json_of(call(srv, "GET", "/prompts")[1])
    assert all(p["source"] == "built-in" for p in listing["prompts"]), listing


def test_the_language_setting(srv):
    url = srv.sbc(f"/{PS}/api/v1/settings")
    tok = srv.ps_token
    r = curl("GET", url, token=tok)
    assert r.status == 200 and r.json()["language"] == "en"
    algs = r.json()["digest_algorithms"]
    st, en, _ = call(srv, "GET", "/prompts/vm-goodbye")
    r = curl("PUT", url, {"language": "de"}, token=tok)
    assert r.status == 200 and r.json()["language"] == "de", r
    assert r.json()["digest_algorithms"] == algs  # untouched
    assert curl("GET", url, token=tok).json()["language"] == "de"
    assert json_of(call(srv, "GET", "/prompts")[1])["language"] == "de"
    st, de, _ = call(srv, "GET", "/prompts/vm-goodbye")
    assert st == 200 and de != en and de == call(srv, "GET", "/prompts/vm-goodbye?language=de")[1]
    for bad in ("fr", "", "DE", 5, None, ["de"]):
        r = curl("PUT", url, {"language": bad}, token=tok)
        assert r.status == 400 and "language" in r.json()["error"], (bad, r)
    # both at once; a bad one of them changes neither
    r = curl("PUT", url, {"language": "en", "digest_algorithms": ["MD5"]}, token=tok)
    assert r.status == 200 and r.json() == {"language": "en", "digest_algorithms": ["MD5"],
                                            "park_timeout": 60}
    r = curl("PUT", url, {"language": "de", "digest_algorithms": ["nope"]}, token=tok)
    assert r.status == 400
    assert curl("GET", url, token=tok).json()["language"] == "en"
    r = curl("PUT", url, {"digest_algorithms": algs}, token=tok)
    assert r.status == 200 and r.json()["language"] == "en"
    assert curl("PUT", url, {"language": "de"}).status == 401


def test_uploads_and_the_language_survive_a_restart(tmp_path):
    s = Server().start()
    try:
        s.create_ps(PS, PS_PW)
        assert s.wait_state(PS, "running", 20)
        s.ps_token = s.pbx_token(PS, PS_PW)
        tone = read(sox(tmp_path, "r.wav", "synth", "1", "sine", "500"))
        assert call(s, "PUT", "/prompts/company-greeting", tone)[0] == 200
        assert curl("PUT", s.sbc(f"/{PS}/api/v1/settings"), {"language": "de"},
                    token=s.ps_token).status == 200
        before = call(s, "GET", "/prompts/company-greeting")[1]
        s.stop()
        s.start()
        assert s.wait_state(PS, "running", 20)
        s.ps_token = s.pbx_token(PS, PS_PW)
        listing = json_of(call(s, "GET", "/prompts")[1])
        assert listing["language"] == "de"
        assert [p for p in listing["prompts"] if p["name"] == "company-greeting"][0][
            "source"] == "uploaded"
        assert call(s, "GET", "/prompts/company-greeting")[1] == before
        assert s.log(tail=10**7).count("made the built-in set") <= 1
    finally:
        s.cleanup()


def test_a_release_in_the_data_dir_makes_and_finds_the_set(tmp_path):
    """What a system update runs: the binary alone under releases/<version>/
    (`current` points at it), nothing of the build tree beside it."""
    import shutil
    import tempfile
    from conftest import BIN
    data = tempfile.mkdtemp(prefix="zt-", dir="/tmp")
    rel = os.path.join(data, "releases", "0.1.0")
    os.makedirs(rel)
    shutil.copy2(BIN, os.path.join(rel, "zentrale"))
    os.symlink("releases/0.1.0", os.path.join(data, "current"))
    s = Server(data_dir=data).start()
    try:
        s.create_ps(PS, PS_PW)
        assert s.wait_state(PS, "running", 20)
        s.ps_token = s.pbx_token(PS, PS_PW)
        st, body, _ = call(s, "GET", "/prompts/vm-leave-message?language=de")
        assert st == 200, (st, body[:200], s.log())
        rate, _, pcm = pcm_of(body)
        assert rate == 16000 and len(pcm) > 16000 * 3  # a sentence, not silence
        sets = [d for d in os.listdir(os.path.join(data, "prompts")) if ".tmp-" not in d
                and not d.endswith(".lock")]
        assert len(sets) == 1
        assert s.wait_log("made the built-in set", tail=10**7)
    finally:
        s.cleanup()
        shutil.rmtree(data, ignore_errors=True)
