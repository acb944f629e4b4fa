"""A network of namespaces for ensemble members, made by a test (needs root and iproute2's
`ip`), with names unique to the run:

    member N's namespace                       switch namespace         root namespace
    peer0 10.77.0.N/24  <-- veth -->  port sN ---- bridge br0
    client0 10.78.X.(4N+1)/30  <---------------- veth ---------------->  10.78.X.(4N+2)/30

Members talk to each other only over the bridge; the test and its clients stay in the root
namespace and reach each member's clientPort over its own point-to-point link (X is picked
per run among /24s the root namespace does not use). Faults:

- `cut(sid)` / `heal(sid)`: the member's switch port down / up (a cut cable: both ends lose
  carrier), so it keeps its clients and loses its peers;
- `block(a, b)` / `unblock_all()`: blackhole routes in both members' namespaces, so a and b
  cannot reach each other while each still reaches the rest (partitions into halves, and
  bridges: a member that still sees both sides).

`teardown()` deletes the namespaces (and with them every link and route)."""

import os
import random
import shutil
import subprocess

PEER_NET = "10.77.0"
CLIENT_PORT, PEER_PORT, ELECTION_PORT = 2181, 2888, 3888


def ip(*args, check=True):
    r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip()}")
    return r


def usable():
    """(True, "") when this process can make network namespaces, else (False, why)."""
    if shutil.which("ip") is None:
        return False, "iproute2's `ip` is not installed"
    name = f"crpt-probe-{os.getpid()}"
    try:
        r = ip("netns", "add", name, check=False)
    except OSError as e:
        return False, f"cannot run `ip netns add`: {e}"
    if r.returncode != 0:
        return False, ("cannot create network namespaces (needs root: CAP_SYS_ADMIN and "
                       f"CAP_NET_ADMIN): {r.stderr.strip()}")
    ip("netns", "del", name, check=False)
    return True, ""


class BridgeNet:
    """The namespaces and links above for members `sids`; answers the questions of
    ensemble.Loopback, for ensemble.Ensemble(net=...)."""

    def __init__(self, sids):
        self.sids = tuple(sids)
        self.run_id = f"{os.getpid() % 0xfff:03x}{random.randrange(0x1000):03x}"
        self.switch = f"crpt-{self.run_id}-sw"
        self.namespaces = []
        self.root_links = []
        self.blocked = set()
        used = ip("-4", "-o", "addr").stdout + ip("-4", "route").stdout
        free = [x for x in range(256) if f"10.78.{x}." not in used]
        if not free:
            raise RuntimeError("no free 10.78.X.0/24 in the root namespace")
        self.x = random.choice(free)

    def ns(self, sid):
        return f"crpt-{self.run_id}-m{sid}"

    def prefix(self, sid):
        return ("ip", "netns", "exec", self.ns(sid))

    def peer_ip(self, sid):
        return f"{PEER_NET}.{sid}"

    def client_ip(self, sid):
        return f"10.78.{self.x}.{4 * sid + 1}"

    def ports(self, sid):
        """Every member has addresses of its own, so all can use the usual ports."""
        return CLIENT_PORT, PEER_PORT, ELECTION_PORT

    def port(self, sid):
        return f"s{self.run_id}{sid}"

    def _add_ns(self, name):
        ip("netns", "add", name)
        self.namespaces.append(name)
        ip("-n", name, "link", "set", "lo", "up")

    def setup(self):
        self._add_ns(self.switch)
        ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        ip("-n", self.switch, "link", "set", "br0", "up")
        for sid in self.sids:
            ns = self.ns(sid)
            self._add_ns(ns)
            # Peer link: member <-> switch.
            q, s = f"q{self.run_id}{sid}", self.port(sid)
            ip("link", "add", q, "type", "veth", "peer", "name", s)
            self.root_links.append(q)
            ip("link", "set", q, "netns", ns)
            ip("link", "set", s, "netns", self.switch)
            ip("-n", ns, "link", "set", q, "name", "peer0")
            ip("-n", ns, "addr", "add", f"{self.peer_ip(sid)}/24", "dev", "peer0")
            ip("-n", ns, "link", "set", "peer0", "up")
            ip("-n", self.switch, "link", "set", s, "master", "br0")
            ip("-n", self.switch, "link", "set", s, "up")
            # Client link: member <-> root namespace.
            c, k = f"c{self.run_id}{sid}", f"k{self.run_id}{sid}"
            ip("link", "add", c, "type", "veth", "peer", "name", k)
            self.root_links.append(c)
            ip("link", "set", k, "netns", ns)
            ip("-n", ns, "link", "set", k, "name", "client0")
            ip("-n", ns, "addr", "add", f"{self.client_ip(sid)}/30", "dev", "client0")
            ip("-n", ns, "link", "set", "client0", "up")
            ip("addr", "add", f"10.78.{self.x}.{4 * sid + 2}/30", "dev", c)
            ip("link", "set", c, "up")

    def cut(self, sid):
        ip("-n", self.switch, "link", "set", self.port(sid), "down")

    def heal(self, sid):
        ip("-n", self.switch, "link", "set", self.port(sid), "up")

    def block(self, a, b):
        for src, dst in ((a, b), (b, a)):
            if (src, dst) not in self.blocked:
                ip("-n", self.ns(src), "route", "add", "blackhole", f"{self.peer_ip(dst)}/32")
                self.blocked.add((src, dst))

    def unblock_all(self):
        for src, dst in sorted(self.blocked):
            ip("-n", self.ns(src), "route", "del", "blackhole", f"{self.peer_ip(dst)}/32",
               check=False)
        self.blocked.clear()

    def teardown(self):
        for name in reversed(self.namespaces):
            ip("netns", "del", name, check=False)
        for link in self.root_links:  # gone with their peers' namespaces; just in case
            ip("link", "del", link, check=False)
