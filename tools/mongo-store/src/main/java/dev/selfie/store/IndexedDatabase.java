package dev.selfie.store;

import java.util.List;

import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.DatabaseResolver;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.Oplog;
import io.netty.channel.Channel;

/** An H2 database whose collections get {@link OrderedIndex}es and whose count pipeline uses them. */
final class IndexedDatabase extends H2Database {
    /**
     * The store is needed while the superclass constructor opens existing collections, before this class's own
     * fields are assigned; there is one store per process.
     */
    private static volatile MVStore store;

    static void useStore(MVStore mvStore) {
        store = mvStore;
    }

    IndexedDatabase(String databaseName, CursorRegistry cursorRegistry) {
        super(databaseName, store, cursorRegistry);
    }

    @Override
    protected Index<Object> openOrCreateSecondaryIndex(String collectionName, String indexName, List<IndexKey> keys,
                                                       boolean sparse) {
        return new OrderedIndex(indexName, keys, sparse);
    }

    @Override
    protected MongoCollection<Object> openOrCreateCollection(String collectionName, CollectionOptions options) {
        // Same map names as the upstream H2 backend, so its data files stay readable by either.
        String fullName = getFullCollectionNamespace(collectionName);
        MVMap<Object, Document> dataMap = store.openMap("databases." + fullName);
        MVMap<String, Object> metaMap = store.openMap("meta." + fullName);
        return new IndexedCollection(this, collectionName, options, dataMap, metaMap, cursorRegistry);
    }

    @Override
    public Document handleCommand(Channel channel, String command, Document query, DatabaseResolver databaseResolver,
                                  Oplog oplog) {
        if (command.equalsIgnoreCase("aggregate")) {
            Document counted = CountPipeline.answer(this, query);
            if (counted != null) {
                return counted;
            }
        }
        return super.handleCommand(channel, command, query, databaseResolver, oplog);
    }

    String namespace(String collectionName) {
        return getFullCollectionNamespace(collectionName);
    }
}
