package dev.selfie.store;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

import org.h2.mvstore.MVStore;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.ServerVersion;

/**
 * Starts the store: `--listen host:port --data dir [--cache-mb n] [--threads n]`. Data is one MVStore file in the
 * data folder; SIGTERM closes it cleanly (a SIGKILL loses nothing acknowledged, see DurableBackend).
 */
public final class StoreMain {
    private StoreMain() {
    }

    public static void main(String[] args) throws Exception {
        String listen = "127.0.0.1:27017";
        Path data = Path.of(".data/mongo-store");
        int cacheMb = 32;
        int threads = 4;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--listen" -> listen = args[i + 1];
                case "--data" -> data = Path.of(args[i + 1]);
                case "--cache-mb" -> cacheMb = Integer.parseInt(args[i + 1]);
                case "--threads" -> threads = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (args.length % 2 != 0) {
            throw new IllegalArgumentException("options come in pairs: --listen host:port --data dir");
        }
        int colon = listen.lastIndexOf(':');
        InetSocketAddress address = new InetSocketAddress(listen.substring(0, colon),
            Integer.parseInt(listen.substring(colon + 1)));

        Files.createDirectories(data);
        MVStore store = new MVStore.Builder()
            .fileName(data.resolve("store.mv.db").toString())
            .cacheSize(cacheMb)
            .open();
        DurableBackend backend = DurableBackend.open(store);
        backend.version(ServerVersion.MONGO_5_0);
        MongoServer server = new MongoServer(backend);
        server.bind(address, 1, threads);

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.shutdownNow();
            stopped.countDown();
        }, "store-shutdown"));
        System.out.println("mongo-store listening on " + listen + ", data in " + data.toAbsolutePath());
        stopped.await();
    }
}
