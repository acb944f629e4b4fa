import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.framework.state.SessionConnectionStateErrorPolicy;
import org.apache.curator.retry.ExponentialBackoffRetry;

/**
 * One Curator LeaderLatch participant in its own JVM, driven by a test through stdin/stdout.
 *
 * <p>Usage: {@code LatchMember <connectString> <participantId> <sessionTimeoutMs>}. Prints one
 * line per event: {@code SESSION 0x<id>} once connected, {@code STATE <state> 0x<session>} on
 * every connection state change, {@code LEADER} / {@code NOTLEADER} from the latch listener.
 * Reads commands: {@code status} prints {@code STATUS leader=<bool> leaderId=<id>
 * session=0x<id>}; {@code quit} (or end of input) closes the latch and exits.
 *
 * <p>The client uses {@link SessionConnectionStateErrorPolicy}: only a lost session counts as
 * an error, so a SUSPENDED connection that comes back on another server with the same session
 * keeps the leadership (Curator's standard policy gives it up on every SUSPENDED).
 */
public final class LatchMember {
    static final String PATH = "/latch-ensemble";
    static final long CONNECT_WAIT_S = 30;

    static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    static String session(CuratorFramework c) {
        try {
            return "0x" + Long.toHexString(c.getZookeeperClient().getZooKeeper().getSessionId());
        } catch (Exception e) {
            return "unknown(" + e + ")";
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: LatchMember <connectString> <participantId> <sessionTimeoutMs>");
            System.exit(2);
        }
        String id = args[1];
        int sessionTimeoutMs = Integer.parseInt(args[2]);
        CuratorFramework client = CuratorFrameworkFactory.builder()
                .connectString(args[0])
                .sessionTimeoutMs(sessionTimeoutMs)
                .connectionTimeoutMs(sessionTimeoutMs)
                .retryPolicy(new ExponentialBackoffRetry(100, 10, 1000))
                .connectionStateErrorPolicy(new SessionConnectionStateErrorPolicy())
                .build();
        client.getConnectionStateListenable().addListener(
                (c, state) -> say("STATE " + state + " " + session(c)));
        client.start();
        if (!client.blockUntilConnected((int) CONNECT_WAIT_S, TimeUnit.SECONDS)) {
            say("FAIL not connected within " + CONNECT_WAIT_S + "s");
            System.exit(1);
        }
        say("SESSION " + session(client));

        LeaderLatch latch = new LeaderLatch(client, PATH, id);
        latch.addListener(new LeaderLatchListener() {
            @Override
            public void isLeader() {
                say("LEADER");
            }

            @Override
            public void notLeader() {
                say("NOTLEADER");
            }
        });
        latch.start();
        say("STARTED");

        BufferedReader in = new BufferedReader(
                new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String cmd = in.readLine(); cmd != null && !cmd.equals("quit"); cmd = in.readLine()) {
            if (cmd.equals("status")) {
                String leaderId;
                try {
                    leaderId = latch.getLeader().getId();
                } catch (Exception e) {
                    leaderId = "error(" + e.getClass().getSimpleName() + ")";
                }
                say("STATUS leader=" + latch.hasLeadership() + " leaderId=" + leaderId
                        + " session=" + session(client));
            } else {
                say("UNKNOWN " + cmd);
            }
        }
        latch.close();
        client.close();
        System.exit(0); // ZooKeeper's client leaves non-daemon threads behind
    }
}
