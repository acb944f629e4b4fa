"""Requests kazoo 2.11 cannot send (it has no createContainer, createTTL, addWatch,
removeWatches, checkWatches or setWatches), built from kazoo's own serializers and sent through
`KazooClient._call`, and a tap that sees every watch event the session receives (kazoo drops
events for which it holds no one-shot watcher, e.g. those of persistent watches); and stop(),
the end of a test's client."""

from collections import namedtuple
import threading

from kazoo.protocol.serialization import (Create2, int_struct, long_struct,
                                          write_string)
from kazoo.protocol.states import Callback

CREATE_FLAG_EPHEMERAL = 1
CREATE_FLAG_SEQUENTIAL = 2
CREATE_FLAG_CONTAINER = 4
CREATE_FLAG_PERSISTENT_WITH_TTL = 5
CREATE_FLAG_PERSISTENT_SEQUENTIAL_WITH_TTL = 6

ADD_WATCH_PERSISTENT = 0
ADD_WATCH_PERSISTENT_RECURSIVE = 1

WATCHER_TYPE_CHILDREN = 1
WATCHER_TYPE_DATA = 2
WATCHER_TYPE_ANY = 3

EVENT_NAMES = {1: "CREATED", 2: "DELETED", 3: "CHANGED", 4: "CHILD"}


class CreateContainer(Create2):
    """createContainer (19): CreateRequest with the container flag, Create2Response."""
    type = 19


class CreateTTL(namedtuple("CreateTTL", "path data acl flags ttl")):
    """createTTL (21): CreateTTLRequest{path, data, acl, flags, ttl}, Create2Response."""
    type = 21

    def serialize(self):
        b = Create2(self.path, self.data, self.acl, self.flags).serialize()
        b.extend(long_struct.pack(self.ttl))
        return b

    deserialize = Create2.deserialize


class AddWatch(namedtuple("AddWatch", "path mode")):
    """addWatch (106): AddWatchRequest{path, mode}; the reply has no body."""
    type = 106

    def serialize(self):
        return bytearray(write_string(self.path) + int_struct.pack(self.mode))

    @classmethod
    def deserialize(cls, bytes, offset):
        return True


class RemoveWatches(namedtuple("RemoveWatches", "path watcher_type")):
    """removeWatches (18): RemoveWatchesRequest{path, type}; the reply has no body."""
    type = 18

    def serialize(self):
        return bytearray(write_string(self.path) + int_struct.pack(self.watcher_type))

    @classmethod
    def deserialize(cls, bytes, offset):
        return True


class CheckWatches(RemoveWatches):
    """checkWatches (17): same body as removeWatches."""
    type = 17


class SetWatches(namedtuple("SetWatches", "relative_zxid data exist child")):
    """setWatches (101): SetWatches{relativeZxid, dataWatches, existWatches, childWatches};
    the reply has no body. The Java and C clients send it on every reconnect to re-arm their
    watches on the server they reach; kazoo 2.11 drops its watches on a disconnect instead
    (its watchers get a NONE event), so a test that moves a session sends it by hand."""
    type = 101

    def serialize(self):
        b = bytearray(long_struct.pack(self.relative_zxid))
        for paths in (self.data, self.exist, self.child):
            b.extend(int_struct.pack(len(paths)))
            for p in paths:
                b.extend(write_string(p))
        return b

    @classmethod
    def deserialize(cls, bytes, offset):
        return True


def call(client, request, timeout_s=10.0):
    """Sends `request` on `client`'s session and returns its decoded reply (raises the
    kazoo exception of an error reply)."""
    result = client.handler.async_result()
    client._call(request, result)
    return result.get(timeout=timeout_s)


def create_container(client, path, data=b"", acl=None):
    from kazoo.security import OPEN_ACL_UNSAFE
    return call(client, CreateContainer(path, data, acl or OPEN_ACL_UNSAFE,
                                        CREATE_FLAG_CONTAINER))


def create_ttl(client, path, ttl_ms, data=b"", sequential=False, acl=None):
    from kazoo.security import OPEN_ACL_UNSAFE
    flags = (CREATE_FLAG_PERSISTENT_SEQUENTIAL_WITH_TTL if sequential
             else CREATE_FLAG_PERSISTENT_WITH_TTL)
    return call(client, CreateTTL(path, data, acl or OPEN_ACL_UNSAFE, flags, ttl_ms))


def add_watch(client, path, mode):
    return call(client, AddWatch(path, mode))


def remove_watches(client, path, watcher_type):
    return call(client, RemoveWatches(path, watcher_type))


def set_watches(client, relative_zxid, data=(), exist=(), child=()):
    return call(client, SetWatches(relative_zxid, list(data), list(exist), list(child)))


class EventTap:
    """Records every watch event of a kazoo client's session as (type name, path), in
    arrival order, before kazoo routes it. `wait_for(n)` awaits n events, bounded."""

    def __init__(self, client):
        self.events = []
        self._cond = threading.Condition()
        conn = client._connection
        original = conn._read_watch_event

        def tapped(buffer, offset):
            from kazoo.protocol.serialization import Watch
            watch, _ = Watch.deserialize(buffer, offset)
            with self._cond:
                self.events.append((EVENT_NAMES.get(watch.type, watch.type), watch.path))
                self._cond.notify_all()
            return original(buffer, offset)

        conn._read_watch_event = tapped

    def wait_for(self, n, timeout_s=10.0):
        with self._cond:
            self._cond.wait_for(lambda: len(self.events) >= n, timeout=timeout_s)
            return list(self.events)

    def take(self):
        with self._cond:
            out, self.events = self.events, []
            return out


def stop(client):
    """Stops and closes `client`: close() frees its handler's threads even when stop() fails
    (the tests break connections on purpose)."""
    try:
        client.stop()
    finally:
        client.close()


def callbacks_drained(client, timeout_s=10.0):
    """Waits until kazoo's callback thread has run every watch callback queued so far: kazoo
    queues watch callbacks in arrival order on one thread, so a marker queued now runs after
    them."""
    done = threading.Event()
    client.handler.dispatch_callback(Callback("marker", done.set, ()))
    return done.wait(timeout_s)

