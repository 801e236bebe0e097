package dev.selfie.store;

import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

import org.h2.mvstore.MVStore;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;

/**
 * The H2 backend with two changes: a write is committed to the store file before its reply is sent (upstream
 * commits in the background about once a second, so a killed process lost the last second of acknowledged writes),
 * and every command runs under its maxTimeMS.
 */
final class DurableBackend extends H2Backend {
    private static final Set<String> WRITES = Set.of("insert", "update", "delete", "findandmodify", "create",
        "createindexes", "drop", "dropindexes", "dropdatabase", "renamecollection");

    /** Commands served, by name: `serverStatus().metrics.commands.<name>.total`, as MongoDB reports them. */
    private final Map<String, LongAdder> commandCounts = new ConcurrentHashMap<>();

    private DurableBackend(MVStore store) {
        super(store);
    }

    static DurableBackend open(MVStore store) {
        IndexedDatabase.useStore(store);
        return new DurableBackend(store);
    }

    @Override
    protected MongoDatabase openOrCreateDatabase(String databaseName) {
        return new IndexedDatabase(databaseName, getCursorRegistry());
    }

    @Override
    public Document handleCommand(Channel channel, String database, String command, Document query) {
        commandCounts.computeIfAbsent(command.toLowerCase(Locale.ROOT), name -> new LongAdder()).increment();
        Deadline.start(query.get("maxTimeMS"));
        try {
            Document response = super.handleCommand(channel, database, command, query);
            if (WRITES.contains(command.toLowerCase(Locale.ROOT))) {
                commit();
            }
            return response;
        } finally {
            Deadline.clear();
        }
    }

    @Override
    public Document getServerStatus() {
        Document status = super.getServerStatus();
        Document commands = new Document();
        commandCounts.forEach((name, count) -> {
            Document entry = new Document();
            entry.put("total", count.longValue());
            commands.put(name, entry);
        });
        Document metrics = new Document();
        metrics.put("commands", commands);
        status.put("metrics", metrics);
        return status;
    }
}
