"""Before/after figures for issue 12 points 2 and 3 (the block list), on
loopback, with the e2e harness. Run with ZENTRALE_BIN (and
ZENTRALE_TEST_OFFSET_BASE) set, e.g.:
  measure.py fill      wrong passwords answered from a fresh address after
                       4,500 sources blocked (failures=1; FILL, BATCH per 50 ms)
  measure.py routing   blocked addresses until a new phone system 404s at the
                       SBC (STEPS, BATCH; the old SBC needs BATCH=3 to keep up)
  measure.py restart   seconds until routing is back after kill -9 of the SBC
                       with N blocks (N, BATCH)
rss.py: RSS of the processes idle and after N blocks.
"""
import os, sys, time, signal
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/e2e"))
from conftest import Server, curl
import test_attack_block as T

def setup(env=None, failures=3):
    s = Server(env=env).start()
    s.create_ps("acme", "acme-admin-pw"); s.create_ps("globex", "globex-admin-pw")
    tok = s.pbx_token("acme", "acme-admin-pw")
    curl("POST", s.sbc("/acme/api/v1/users"), {"display_name": "a", "extension": "100",
         "sip_password": "acme-100-secret"}, token=tok)
    s.api("PUT", "/sbc", {"plain_sip": True}); s.api("PUT", "/sbc", {"block": {"failures": failures}})
    time.sleep(0.5)
    return s

mode = sys.argv[1]
if mode == "fill":
    s = setup({"ZENTRALE_TEST_BLOCK_CAPACITY": "4096"}, failures=1)
    try:
        addrs = [T.src_addr(30, i) for i in range(int(os.environ.get("FILL", "4500")))]
        # at the pace the SBC takes (the old one slows to ~50 blocks/s), twice over
        for _ in range(2):
            T.flood(s, addrs, batch=int(os.environ.get("BATCH", "2")), pause=0.05)
            time.sleep(3)
        n = T.wrong_passwords_until_silent(s, "127.40.1.1", 300)
        print(f"fill: wrong passwords answered from a fresh address after the fill: {n} of 300"
              f" ({'never blocked' if n == 300 else 'then blocked'})")
    finally:
        s.stop()
elif mode == "routing":
    s = setup(failures=1)
    try:
        done = 0
        steps = [int(x) for x in os.environ.get("STEPS", "1000,2000,2500,2750,3000,3250,3500,4000,6000,10000").split(",")]
        for step, total in enumerate(steps):
            for _ in range(2):
                T.flood(s, [T.src_addr(20, i) for i in range(done, total)],
                        batch=int(os.environ.get("BATCH", "100")), pause=0.05)
            done = total
            time.sleep(2)
            name = f"p{step}"
            s.api("POST", "/phone-systems", {"name": name, "admin_password": "pbx-secret-1"})
            t0 = time.time(); st = 0
            while time.time() - t0 < 8:
                st = curl("GET", s.sbc(f"/{name}/"), timeout=5).status
                if st == 200: break
                time.sleep(0.2)
            r = s.api("GET", "/blocked", timeout=60)
            listed = len(r.json()["blocked"]) if r.status == 200 else -1
            print(f"routing: {total} blocked sent, /blocked lists {listed}, new phone system {name}: {st}")
            if st != 200:
                break
    finally:
        s.stop()
elif mode == "restart":
    s = setup(failures=1)
    try:
        n = int(os.environ.get("N", "10000")); b = int(os.environ.get("BATCH", "100"))
        for _ in range(2):
            T.flood(s, [T.src_addr(20, i) for i in range(n)], batch=b, pause=0.05); time.sleep(2)
        r = s.api("GET", "/blocked", timeout=60)
        print("restart: /blocked lists", len(r.json()["blocked"]) if r.status == 200 else r.status,
              "; blocks logged", s.log(tail=None).count("blocked for"))
        old = s.pids()["sbc"]; os.kill(old, signal.SIGKILL); t0 = time.time(); st = 0
        while time.time() - t0 < 120:
            pid = s.pids().get("sbc")
            st = curl("GET", s.sbc("/acme/"), timeout=5).status if pid and pid != old else 0
            if st == 200: break
            time.sleep(0.1)
        took = time.time() - t0
        print(f"restart: routing back after {took:.2f} s (last status {st})")
        print("restart: blocked address answered after restart:", T.answered(s, T.src_addr(20, 17)))
    finally:
        s.stop()
