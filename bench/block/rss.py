import os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/e2e"))
from conftest import Server
import test_attack_block as T
def rss(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS"): return int(l.split()[1]) // 1024
s = Server().start()
try:
    s.create_ps("acme"); s.create_ps("globex")
    s.api("PUT", "/sbc", {"plain_sip": True}); s.api("PUT", "/sbc", {"block": {"failures": 1}})
    time.sleep(1)
    p = s.pids()
    print("idle RSS MB:", {k: rss(v) for k, v in p.items() if k in ("sbc", "mgmt", "pbx acme", "supervisor")})
    n = int(os.environ.get("N", "10000"))
    for _ in range(2):
        T.flood(s, [T.src_addr(20, i) for i in range(n)], batch=int(os.environ.get("BATCH", "100")), pause=0.05); time.sleep(2)
    print(f"after {n} blocks RSS MB:", {k: rss(v) for k, v in s.pids().items() if k in ("sbc", "mgmt", "pbx acme", "supervisor")},
          "blocks logged", s.log(tail=None).count("blocked for"))
finally:
    s.stop()
