import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.api.transaction.OperationType;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.leader.Participant;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.nodes.PersistentNode;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.data.Stat;

/**
 * Apache Curator 5 (Debian's jars) against a ZooKeeper-protocol server.
 *
 * <p>Usage: {@code CuratorCheck <connectString> [check ...]}; with no check names, runs all.
 * Prints {@code PASS <check>} for each check that holds; on the first failure prints
 * {@code FAIL <check>: <why>} with a stack trace and exits 1. Every wait is bounded by
 * {@link #WAIT_S}. Each check works under its own root path and opens its own clients.
 */
public final class CuratorCheck {
    static final long WAIT_S = 30;
    static final int LATCH_PARTICIPANTS = 3;
    static final int MUTEX_CLIENTS = 3;
    static final int MUTEX_THREADS_PER_CLIENT = 2;
    static final int MUTEX_ROUNDS_PER_THREAD = 10;

    static String connect;
    static final List<CuratorFramework> clients = new ArrayList<>();

    interface Check {
        void run() throws Exception;
    }

    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: CuratorCheck <connectString> [check ...]");
            System.exit(2);
        }
        connect = args[0];
        Map<String, Check> checks = new java.util.LinkedHashMap<>();
        checks.put("leader_latch", CuratorCheck::leaderLatch);
        checks.put("mutex", CuratorCheck::mutex);
        checks.put("curator_cache", CuratorCheck::curatorCache);
        checks.put("create_and_persistent_node", CuratorCheck::createAndPersistentNode);
        checks.put("transaction", CuratorCheck::transaction);

        List<String> names = args.length > 1
                ? Arrays.asList(args).subList(1, args.length)
                : new ArrayList<>(checks.keySet());
        for (String name : names) {
            Check check = checks.get(name);
            if (check == null) {
                System.out.println("FAIL " + name + ": no such check");
                System.exit(2);
            }
            try {
                check.run();
                System.out.println("PASS " + name);
            } catch (Throwable t) {
                System.out.println("FAIL " + name + ": " + t);
                t.printStackTrace(System.out);
                System.out.flush();
                System.exit(1);
            } finally {
                closeClients();
            }
        }
        System.exit(0); // Curator and ZooKeeper leave non-daemon threads behind
    }

    // ---------------------------------------------------------------- helpers

    static CuratorFramework client() throws InterruptedException {
        CuratorFramework c = CuratorFrameworkFactory.builder()
                .connectString(connect)
                .sessionTimeoutMs(30_000)
                .connectionTimeoutMs(15_000)
                .retryPolicy(new ExponentialBackoffRetry(100, 3))
                .build();
        clients.add(c);
        c.start();
        check(c.blockUntilConnected((int) WAIT_S, TimeUnit.SECONDS),
                "client did not connect within " + WAIT_S + "s");
        return c;
    }

    static void closeClients() {
        for (CuratorFramework c : clients) {
            try {
                c.close();
            } catch (RuntimeException e) {
                // closing is best effort; the check's verdict is already out
            }
        }
        clients.clear();
    }

    static void check(boolean cond, String why) {
        if (!cond) {
            throw new AssertionError(why);
        }
    }

    static <T> T take(BlockingQueue<T> q, String what) throws InterruptedException {
        T v = q.poll(WAIT_S, TimeUnit.SECONDS);
        check(v != null, "timed out after " + WAIT_S + "s waiting for " + what);
        return v;
    }

    static void await(CountDownLatch latch, String what) throws InterruptedException {
        check(latch.await(WAIT_S, TimeUnit.SECONDS), "timed out after " + WAIT_S + "s: " + what);
    }

    /** Polls a condition that a watch or a background operation makes true, with a bound. */
    static void eventually(Supplier<Boolean> cond, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        while (!cond.get()) {
            check(System.nanoTime() < deadline, "timed out after " + WAIT_S + "s: " + what);
            Thread.sleep(20);
        }
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String str(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    // ---------------------------------------------------------------- LeaderLatch

    /**
     * Three participants: exactly one leader, all agree on who it is; closing the leader hands
     * leadership to another participant, twice.
     */
    static void leaderLatch() throws Exception {
        String path = "/curator-latch";
        BlockingQueue<String> elected = new LinkedBlockingQueue<>();
        List<LeaderLatch> open = new ArrayList<>();
        for (int i = 0; i < LATCH_PARTICIPANTS; i++) {
            String id = "p" + i;
            LeaderLatch latch = new LeaderLatch(client(), path, id);
            latch.addListener(new LeaderLatchListener() {
                @Override
                public void isLeader() {
                    elected.add(id);
                }

                @Override
                public void notLeader() {
                }
            });
            open.add(latch);
        }
        for (LeaderLatch latch : open) {
            latch.start();
        }

        List<String> leaders = new ArrayList<>();
        while (!open.isEmpty()) {
            String leader = take(elected, "a leader among " + ids(open));
            check(!leaders.contains(leader), leader + " was elected twice");
            leaders.add(leader);
            LeaderLatch leading = null;
            for (LeaderLatch latch : open) {
                boolean mine = latch.getId().equals(leader);
                check(latch.hasLeadership() == mine,
                        latch.getId() + ".hasLeadership() = " + latch.hasLeadership()
                                + " while the elected leader is " + leader);
                Participant seen = latch.getLeader();
                check(seen.isLeader() && seen.getId().equals(leader),
                        latch.getId() + " sees leader " + seen.getId() + ", not " + leader);
                Collection<Participant> all = latch.getParticipants();
                check(all.size() == open.size(),
                        latch.getId() + " sees " + all.size() + " participants, not " + open.size());
                if (mine) {
                    leading = latch;
                }
            }
            check(leading != null, "no open participant is " + leader);
            open.remove(leading);
            leading.close();
        }
        check(elected.isEmpty(), "extra elections: " + elected);
        check(leaders.size() == LATCH_PARTICIPANTS, "leaders in turn: " + leaders);
        CuratorFramework c = client();
        eventually(() -> childrenOf(c, path).isEmpty(), "latch nodes removed after close");
    }

    static List<String> ids(List<LeaderLatch> latches) {
        List<String> ids = new ArrayList<>();
        for (LeaderLatch l : latches) {
            ids.add(l.getId());
        }
        return ids;
    }

    static List<String> childrenOf(CuratorFramework c, String path) {
        try {
            return c.getChildren().forPath(path);
        } catch (Exception e) {
            throw new AssertionError("getChildren " + path + ": " + e, e);
        }
    }

    // ---------------------------------------------------------------- InterProcessMutex

    /**
     * Threads on several clients increment a counter znode under an InterProcessMutex with an
     * unconditional read-modify-write: a lost update or two holders at once would show.
     */
    static void mutex() throws Exception {
        String lockPath = "/curator-mutex/lock";
        String counter = "/curator-mutex/counter";
        CuratorFramework setup = client();
        setup.create().creatingParentsIfNeeded().forPath(counter, bytes("0"));

        AtomicInteger holders = new AtomicInteger();
        AtomicInteger maxHolders = new AtomicInteger();
        int threads = MUTEX_CLIENTS * MUTEX_THREADS_PER_CLIENT;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> done = new ArrayList<>();
        try {
            for (int ci = 0; ci < MUTEX_CLIENTS; ci++) {
                CuratorFramework c = client();
                InterProcessMutex mutex = new InterProcessMutex(c, lockPath);
                for (int t = 0; t < MUTEX_THREADS_PER_CLIENT; t++) {
                    done.add(pool.submit(() -> {
                        for (int r = 0; r < MUTEX_ROUNDS_PER_THREAD; r++) {
                            check(mutex.acquire(WAIT_S, TimeUnit.SECONDS),
                                    "mutex not acquired within " + WAIT_S + "s");
                            try {
                                int now = holders.incrementAndGet();
                                maxHolders.accumulateAndGet(now, Math::max);
                                int v = Integer.parseInt(str(c.getData().forPath(counter)));
                                c.setData().forPath(counter, bytes(Integer.toString(v + 1)));
                                holders.decrementAndGet();
                            } finally {
                                mutex.release();
                            }
                        }
                        return null;
                    }));
                }
            }
            for (Future<?> f : done) {
                f.get(WAIT_S * 4, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        int expected = threads * MUTEX_ROUNDS_PER_THREAD;
        check(maxHolders.get() == 1, "mutex held by " + maxHolders.get() + " threads at once");
        String got = str(setup.getData().forPath(counter));
        check(got.equals(Integer.toString(expected)), "counter = " + got + ", want " + expected);
        Stat st = setup.checkExists().forPath(counter);
        check(st.getVersion() == expected, "counter dataVersion = " + st.getVersion());
        check(childrenOf(setup, lockPath).isEmpty(),
                "lock nodes left behind: " + childrenOf(setup, lockPath));
    }

    // ---------------------------------------------------------------- CuratorCache

    /**
     * CuratorCache (a persistent recursive watch plus reads) sees the initial subtree, then
     * every create, change and delete below its root made by another client.
     */
    static void curatorCache() throws Exception {
        String root = "/curator-cache";
        CuratorFramework writer = client();
        writer.create().forPath(root, bytes("r"));
        writer.create().forPath(root + "/pre", bytes("p"));

        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        CuratorCache cache = CuratorCache.build(client(), root);
        cache.listenable().addListener(CuratorCacheListener.builder()
                .forCreates(n -> events.add("create " + n.getPath() + " " + str(n.getData())))
                .forChanges((old, n) -> events.add("change " + n.getPath() + " "
                        + str(old.getData()) + "->" + str(n.getData())))
                .forDeletes(old -> events.add("delete " + old.getPath()))
                .forInitialized(() -> events.add("initialized"))
                .build());
        cache.start();
        try {
            List<String> initial = new ArrayList<>();
            for (String e = take(events, "initial cache events"); !e.equals("initialized");
                    e = take(events, "cache initialized")) {
                initial.add(e);
            }
            initial.sort(null);
            List<String> want = Arrays.asList("create /curator-cache r",
                    "create /curator-cache/pre p");
            check(initial.equals(want), "initial events " + initial + ", want " + want);

            // One change at a time: the listener's order across nodes is not a contract.
            expect(events, () -> writer.create().forPath(root + "/a", bytes("1")),
                    "create /curator-cache/a 1");
            expect(events, () -> writer.create().forPath(root + "/a/b", bytes("2")),
                    "create /curator-cache/a/b 2");
            expect(events, () -> writer.setData().forPath(root + "/a", bytes("3")),
                    "change /curator-cache/a 1->3");
            expect(events, () -> writer.setData().forPath(root, bytes("r2")),
                    "change /curator-cache r->r2");
            expect(events, () -> writer.delete().forPath(root + "/a/b"),
                    "delete /curator-cache/a/b");
            expect(events, () -> writer.delete().forPath(root + "/a"), "delete /curator-cache/a");
            check(cache.get(root + "/a").isEmpty(), "cache still holds /curator-cache/a");
            check(str(cache.get(root).get().getData()).equals("r2"), "cached root data");
            check(cache.size() == 2, "cache size " + cache.size() + ", want 2");
        } finally {
            cache.close();
        }
    }

    interface Action {
        void run() throws Exception;
    }

    static void expect(BlockingQueue<String> events, Action action, String want) throws Exception {
        action.run();
        String got = take(events, want);
        check(got.equals(want), "cache event '" + got + "', want '" + want + "'");
    }

    // ---------------------------------------------------------------- create, PersistentNode

    /**
     * creatingParentsIfNeeded / creatingParentContainersIfNeeded, protected ephemeral
     * sequential names, create with a returned Stat (create2), orSetData; and PersistentNode:
     * created, recreated after another client deletes it, updated, removed on close.
     */
    static void createAndPersistentNode() throws Exception {
        CuratorFramework c = client();
        String made = c.create().creatingParentsIfNeeded().forPath("/curator-p/a/b/c", bytes("x"));
        check(made.equals("/curator-p/a/b/c"), "created " + made);
        for (String p : new String[] {"/curator-p", "/curator-p/a", "/curator-p/a/b"}) {
            Stat st = c.checkExists().forPath(p);
            check(st != null && st.getEphemeralOwner() == 0 && st.getDataLength() == 0,
                    p + " stat " + st);
        }
        check(str(c.getData().forPath("/curator-p/a/b/c")).equals("x"), "data of /curator-p/a/b/c");

        c.create().creatingParentContainersIfNeeded().forPath("/curator-c/x/y", bytes("y"));
        check(c.checkExists().forPath("/curator-c/x") != null, "container parent /curator-c/x");

        Stat created = new Stat();
        c.create().storingStatIn(created).forPath("/curator-p/stat", bytes("12345"));
        check(created.getDataLength() == 5 && created.getVersion() == 0
                        && created.getCzxid() == created.getMzxid() && created.getCzxid() > 0,
                "create2 stat " + created);

        c.create().orSetData().forPath("/curator-p/stat", bytes("again"));
        Stat after = c.checkExists().forPath("/curator-p/stat");
        check(after.getVersion() == 1, "orSetData version " + after.getVersion());

        String prot = c.create().withProtection().withMode(CreateMode.EPHEMERAL_SEQUENTIAL)
                .forPath("/curator-p/lock-", bytes(""));
        check(prot.matches("/curator-p/_c_[0-9a-f-]{36}-lock-\\d{10}"), "protected name " + prot);
        Stat eph = c.checkExists().forPath(prot);
        check(eph.getEphemeralOwner() == c.getZookeeperClient().getZooKeeper().getSessionId(),
                "ephemeralOwner " + Long.toHexString(eph.getEphemeralOwner()));

        CuratorFramework other = client();
        PersistentNode node = new PersistentNode(client(), CreateMode.EPHEMERAL, false,
                "/curator-p/pn", bytes("v1"));
        node.start();
        try {
            check(node.waitForInitialCreate(WAIT_S, TimeUnit.SECONDS), "PersistentNode created");
            check(node.getActualPath().equals("/curator-p/pn"), "path " + node.getActualPath());
            check(str(other.getData().forPath("/curator-p/pn")).equals("v1"), "pn data");

            CountDownLatch recreated = new CountDownLatch(1);
            Watcher onCreate = e -> {
                if (e.getType() == Watcher.Event.EventType.NodeCreated) {
                    recreated.countDown();
                }
            };
            other.delete().forPath("/curator-p/pn");
            if (other.checkExists().usingWatcher(onCreate).forPath("/curator-p/pn") == null) {
                await(recreated, "PersistentNode recreated after a delete");
            }
            check(str(other.getData().forPath("/curator-p/pn")).equals("v1"), "recreated data");

            node.setData(bytes("v2"));
            eventually(() -> "v2".equals(dataOrNull(other, "/curator-p/pn")),
                    "PersistentNode.setData visible to another client");
        } finally {
            node.close();
        }
        eventually(() -> dataOrNull(other, "/curator-p/pn") == null,
                "PersistentNode removed on close");
    }

    static String dataOrNull(CuratorFramework c, String path) {
        try {
            return str(c.getData().forPath(path));
        } catch (KeeperException.NoNodeException e) {
            return null;
        } catch (Exception e) {
            throw new AssertionError("getData " + path + ": " + e, e);
        }
    }

    // ---------------------------------------------------------------- transaction

    /**
     * client.transaction() (one multi request): all ops apply with per-op results; a failing
     * check makes the whole transaction fail, nothing applies, and the per-op errors are
     * OK-before / the error / RuntimeInconsistency-after, as ZooKeeper reports them.
     */
    static void transaction() throws Exception {
        CuratorFramework c = client();
        c.create().forPath("/curator-tx", bytes(""));
        c.create().forPath("/curator-tx/old", bytes("o"));
        c.create().forPath("/curator-tx/gone", bytes("g"));

        List<CuratorOp> ops = Arrays.asList(
                c.transactionOp().create().forPath("/curator-tx/new", bytes("n")),
                c.transactionOp().create().withMode(CreateMode.PERSISTENT_SEQUENTIAL)
                        .forPath("/curator-tx/seq-", bytes("s")),
                c.transactionOp().setData().withVersion(0).forPath("/curator-tx/old", bytes("o2")),
                c.transactionOp().check().withVersion(0).forPath("/curator-tx/gone"),
                c.transactionOp().delete().forPath("/curator-tx/gone"));
        List<CuratorTransactionResult> results = c.transaction().forOperations(ops);
        check(results.size() == 5, "results " + results.size());
        OperationType[] types = {OperationType.CREATE, OperationType.CREATE,
            OperationType.SET_DATA, OperationType.CHECK, OperationType.DELETE};
        for (int i = 0; i < types.length; i++) {
            check(results.get(i).getType() == types[i], "result " + i + " type "
                    + results.get(i).getType());
            check(results.get(i).getError() == 0, "result " + i + " error "
                    + results.get(i).getError());
        }
        check(results.get(0).getResultPath().equals("/curator-tx/new"),
                "create result path " + results.get(0).getResultPath());
        check(results.get(1).getResultPath().matches("/curator-tx/seq-\\d{10}"),
                "sequential result path " + results.get(1).getResultPath());
        Stat setStat = results.get(2).getResultStat();
        check(setStat != null && setStat.getVersion() == 1, "setData result stat " + setStat);
        check(str(c.getData().forPath("/curator-tx/old")).equals("o2"), "old updated");
        check(c.checkExists().forPath("/curator-tx/gone") == null, "gone deleted");
        // All ops of one multi carry the same zxid.
        Stat newStat = c.checkExists().forPath("/curator-tx/new");
        check(newStat.getCzxid() == setStat.getMzxid(), "one zxid for the transaction");

        List<CuratorOp> failing = Arrays.asList(
                c.transactionOp().create().forPath("/curator-tx/never", bytes("")),
                c.transactionOp().check().withVersion(7).forPath("/curator-tx/old"),
                c.transactionOp().delete().forPath("/curator-tx/new"));
        try {
            c.transaction().forOperations(failing);
            throw new AssertionError("transaction with a failing check succeeded");
        } catch (KeeperException.BadVersionException e) {
            List<OpResult> rs = e.getResults();
            check(rs != null && rs.size() == 3, "failed multi results " + rs);
            int[] codes = new int[3];
            for (int i = 0; i < 3; i++) {
                check(rs.get(i) instanceof OpResult.ErrorResult, "result " + i + " " + rs.get(i));
                codes[i] = ((OpResult.ErrorResult) rs.get(i)).getErr();
            }
            int[] want = {KeeperException.Code.OK.intValue(),
                KeeperException.Code.BADVERSION.intValue(),
                KeeperException.Code.RUNTIMEINCONSISTENCY.intValue()};
            check(Arrays.equals(codes, want),
                    "failed multi codes " + Arrays.toString(codes) + ", want "
                            + Arrays.toString(want));
        }
        check(c.checkExists().forPath("/curator-tx/never") == null, "failed multi created a node");
        check(c.checkExists().forPath("/curator-tx/new") != null, "failed multi deleted a node");
    }
}
