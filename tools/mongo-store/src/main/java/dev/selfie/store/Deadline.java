package dev.selfie.store;

import de.bwaldvogel.mongo.exception.MongoServerError;

/**
 * maxTimeMS for the command running on this thread. mongo-java-server ignores the option, so a query a client has
 * given up on would keep a core busy; scans call {@link #tick()} and stop with MongoDB's own error (code 50) instead.
 */
final class Deadline {
    private static final ThreadLocal<long[]> CURRENT = new ThreadLocal<>();
    private static final int CHECK_EVERY = 256;

    private Deadline() {
    }

    static void start(Object maxTimeMS) {
        if (maxTimeMS instanceof Number ms && ms.longValue() > 0) {
            CURRENT.set(new long[] {System.nanoTime() + ms.longValue() * 1_000_000L, 0});
        } else {
            CURRENT.remove();
        }
    }

    static void clear() {
        CURRENT.remove();
    }

    /** Cheap enough for every document a scan visits: the clock is read once per CHECK_EVERY calls. */
    static void tick() {
        long[] state = CURRENT.get();
        if (state == null || ++state[1] % CHECK_EVERY != 0) {
            return;
        }
        if (System.nanoTime() > state[0]) {
            throw new MongoServerError(50, "MaxTimeMSExpired", "operation exceeded time limit");
        }
    }
}
