// Golden bytes for corral's jute codec, serialized by Apache ZooKeeper 3.8's own classes.
//
// Regenerate (from the repository root, with Debian's `zookeeper` package installed):
//
//   java -cp /usr/share/java/zookeeper.jar:/usr/share/java/zookeeper-jute.jar tests/golden/GoldenRecords.java > crates/jute/testdata/golden.txt
//
// Each output line is `name hex`: one record with fixed field values, written by ZooKeeper's
// BinaryOutputArchive exactly as a ZooKeeper client or server puts it on the wire.
// crates/jute/tests/golden.rs builds the same values with corral's types and checks that
// encoding gives these bytes and decoding these bytes gives the values. A value changed here
// must be changed there too.

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import org.apache.jute.BinaryOutputArchive;
import org.apache.jute.Record;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.MultiOperationRecord;
import org.apache.zookeeper.MultiResponse;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.Version;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.proto.*;

public class GoldenRecords {
    interface Body {
        void write(BinaryOutputArchive a) throws IOException;
    }

    static byte[] bytes(Body body) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        body.write(BinaryOutputArchive.getArchive(out));
        return out.toByteArray();
    }

    static void emit(String name, Body body) throws IOException {
        StringBuilder hex = new StringBuilder();
        for (byte b : bytes(body)) {
            hex.append(String.format("%02x", b & 0xff));
        }
        System.out.println(name + " " + hex);
    }

    static void emit(String name, Record r) throws IOException {
        emit(name, a -> r.serialize(a, "r"));
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    // Every field distinct, so a swapped field shows.
    static final Stat STAT = new Stat(0x100000001L, 0x100000002L, 1700000000000L, 1700000000123L,
            3, 4, 5, 0x1234567890abcdefL, 11, 2, 0x100000007L);

    static final List<ACL> ACLS = Arrays.asList(
            new ACL(ZooDefs.Perms.ALL, new Id("world", "anyone")),
            new ACL(ZooDefs.Perms.READ | ZooDefs.Perms.ADMIN,
                    new Id("digest", "user:tdGgtemRjUxQ9sV1D4ozSeMDMzE=")));

    static final List<String> PATHS = Arrays.asList("/a", "/b/c", "/caf\u00e9");

    /** Op.Create with another op code: ZooKeeper's public API never builds a `create2` op,
     *  but other clients send one and the server accepts it (MultiOperationRecord.deserialize). */
    static Op withType(Op op, int type) throws Exception {
        Field f = Op.class.getDeclaredField("type");
        f.setAccessible(true);
        f.setInt(op, type);
        return op;
    }

    public static void main(String[] args) throws Exception {
        // getFullVersion() is "3.8.0-<commit>, built on <date>": keep the release alone.
        String version = Version.getFullVersion().replaceAll("[-,].*", "");
        System.out.println("# Written by tests/golden/GoldenRecords.java with ZooKeeper " + version
                + "; do not edit by hand.");

        // Session setup. Since 3.4 the client appends readOnly after ConnectRequest
        // (ClientCnxn.Packet.createBB) and the server after ConnectResponse
        // (ZooKeeperServer.finishSessionInit); jute's records themselves lack the field.
        ConnectRequest connect = new ConnectRequest(0, 0x200000005L, 30000, 0x7fedcba987654321L,
                new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
        emit("connect_request", a -> {
            connect.serialize(a, "connect");
            a.writeBool(true, "readOnly");
        });
        // A pre-3.4 client: no readOnly byte.
        emit("connect_request_without_read_only", connect);
        ConnectResponse connected = new ConnectResponse(0, 30000, 0x7fedcba987654321L,
                new byte[] {16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1});
        emit("connect_response", a -> {
            connected.serialize(a, "connect");
            a.writeBool(false, "readOnly");
        });

        // Headers.
        emit("request_header", new RequestHeader(7, ZooDefs.OpCode.getData));
        emit("reply_header", new ReplyHeader(7, 0x100000009L, -101));
        emit("multi_header", new MultiHeader(ZooDefs.OpCode.setData, false, -1));
        emit("auth_packet", new AuthPacket(0, "digest", utf8("user:secret")));
        // SASL (op 102): a DIGEST-MD5 client starts with an empty token; a server without SASL
        // answers a null one.
        emit("get_sasl_request_empty", new GetSASLRequest(new byte[0]));
        emit("set_sasl_response", new SetSASLResponse(utf8("rspauth=0123")));
        emit("set_sasl_response_null", new SetSASLResponse(null));

        // Watches re-registered after a reconnect.
        emit("set_watches", new SetWatches(0x100000003L, Arrays.asList("/d1", "/d2"),
                Arrays.asList("/e1"), Arrays.asList("/c1", "/c2", "/c3")));
        emit("set_watches2", new SetWatches2(0x100000003L, Arrays.asList("/d1"),
                Arrays.asList("/e1"), Arrays.asList("/c1"), Arrays.asList("/p1", "/p2"),
                Arrays.asList("/r1")));

        // Create.
        emit("create_request_null_data",
                new CreateRequest("/app/lock-", null, ACLS, CreateMode.EPHEMERAL_SEQUENTIAL.toFlag()));
        emit("create_request", new CreateRequest("/app/caf\u00e9", utf8("hello world"), ACLS,
                CreateMode.PERSISTENT.toFlag()));
        emit("create_request_empty_data", new CreateRequest("/empty", new byte[0],
                ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.CONTAINER.toFlag()));
        emit("create_ttl_request", new CreateTTLRequest("/ttl", utf8("t"), ZooDefs.Ids.OPEN_ACL_UNSAFE,
                CreateMode.PERSISTENT_WITH_TTL.toFlag(), 60000L));
        emit("create_response", new CreateResponse("/app/lock-0000000007"));
        emit("create2_response", new Create2Response("/app/lock-0000000007", STAT));

        // Delete, data, existence.
        emit("delete_request", new DeleteRequest("/app", -1));
        emit("exists_request", new ExistsRequest("/app", true));
        emit("exists_response", new ExistsResponse(STAT));
        emit("get_data_request", new GetDataRequest("/app", true));
        emit("get_data_response", new GetDataResponse(utf8("hello world"), STAT));
        emit("get_data_response_null_data", new GetDataResponse(null, STAT));
        emit("set_data_request", new SetDataRequest("/app", utf8("v2"), 3));
        emit("set_data_response", new SetDataResponse(STAT));

        // Children.
        emit("get_children_request", new GetChildrenRequest("/", false));
        emit("get_children2_request", new GetChildren2Request("/", true));
        emit("get_children_response", new GetChildrenResponse(PATHS));
        emit("get_children2_response", new GetChildren2Response(PATHS, STAT));
        emit("get_all_children_number_request", new GetAllChildrenNumberRequest("/app"));
        emit("get_all_children_number_response", new GetAllChildrenNumberResponse(42));
        emit("get_ephemerals_request", new GetEphemeralsRequest("/app"));
        emit("get_ephemerals_response", new GetEphemeralsResponse(PATHS));

        // Check, sync, ACLs.
        emit("check_version_request", new CheckVersionRequest("/app", 3));
        emit("sync_request", new SyncRequest("/app"));
        emit("sync_response", new SyncResponse("/app"));
        emit("get_acl_request", new GetACLRequest("/app"));
        emit("get_acl_response", new GetACLResponse(ACLS, STAT));
        emit("set_acl_request", new SetACLRequest("/app", ACLS, 5));
        emit("set_acl_response", new SetACLResponse(STAT));

        // Watches.
        emit("add_watch_request", new AddWatchRequest("/app", ZooDefs.AddWatchModes.persistentRecursive));
        emit("check_watches_request", new CheckWatchesRequest("/app", 2));
        emit("remove_watches_request", new RemoveWatchesRequest("/app", 3));
        emit("watcher_event", new WatcherEvent(4, 3, "/app"));
        emit("watcher_event_session_expired", new WatcherEvent(-1, -112, ""));

        // Errors, reconfig, whoami.
        emit("error_response", new ErrorResponse(-110));
        emit("reconfig_request", new ReconfigRequest("server.4=127.0.0.1:2890:3890;2184",
                "3", "", -1L));
        emit("who_am_i_response", new WhoAmIResponse(Arrays.asList(
                new ClientInfo("ip", "127.0.0.1"), new ClientInfo("digest", "user"))));

        // multi: MultiOperationRecord as ZooKeeper's client writes it.
        MultiOperationRecord multi = new MultiOperationRecord(Arrays.asList(
                Op.create("/m/a", utf8("a"), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT),
                withType(Op.create("/m/b", null, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL),
                        ZooDefs.OpCode.create2),
                Op.create("/m/ttl", utf8("t"), ZooDefs.Ids.OPEN_ACL_UNSAFE,
                        CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, 5000L),
                Op.create("/m/container", new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.CONTAINER),
                Op.delete("/m/old", 2),
                Op.setData("/m/a", utf8("a2"), -1),
                Op.check("/m", 7)));
        emit("multi_request", multi);
        emit("multi_read_request", new MultiOperationRecord(Arrays.asList(
                Op.getChildren("/m"), Op.getData("/m/a"))));
        emit("multi_request_empty", new MultiOperationRecord());

        MultiResponse ok = new MultiResponse();
        ok.add(new OpResult.CreateResult("/m/a"));
        ok.add(new OpResult.CreateResult("/m/b", STAT));
        ok.add(new OpResult.DeleteResult());
        ok.add(new OpResult.SetDataResult(STAT));
        ok.add(new OpResult.CheckResult());
        emit("multi_response", ok);

        // A failed multi: ops before the failure report 0, the failing op its code, the ops
        // after it RuntimeInconsistency (-2).
        MultiResponse failed = new MultiResponse();
        failed.add(new OpResult.ErrorResult(0));
        failed.add(new OpResult.ErrorResult(-101));
        failed.add(new OpResult.ErrorResult(-2));
        emit("multi_response_failed", failed);

        MultiResponse read = new MultiResponse();
        read.add(new OpResult.GetChildrenResult(PATHS));
        read.add(new OpResult.GetDataResult(utf8("hello world"), STAT));
        read.add(new OpResult.GetDataResult(null, STAT));
        read.add(new OpResult.ErrorResult(-101));
        emit("multi_read_response", read);

        // A whole request frame as the client sends it: length, RequestHeader, record.
        byte[] payload = bytes(a -> {
            new RequestHeader(9, ZooDefs.OpCode.setData).serialize(a, "header");
            new SetDataRequest("/app", utf8("v3"), 4).serialize(a, "request");
        });
        emit("set_data_request_frame", a -> {
            a.writeInt(payload.length, "len");
            for (byte b : payload) {
                a.writeByte(b, "b");
            }
        });
    }
}
