package dev.selfie.store;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.stream.Stream;

import org.h2.mvstore.MVMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.DocumentWithPosition;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.bson.Document;

/** An H2 collection whose filtered queries use {@link OrderedIndex}es and honour maxTimeMS. */
final class IndexedCollection extends H2Collection {
    private static final Logger log = LoggerFactory.getLogger(IndexedCollection.class);
    /** Full scans of collections larger than this are logged: on a request path they are a missing index. */
    private static final int SCAN_WARNING = 1000;

    IndexedCollection(MongoDatabase database, String collectionName, CollectionOptions options,
                      MVMap<Object, Document> dataMap, MVMap<String, Object> metaMap, CursorRegistry cursorRegistry) {
        super(database, collectionName, options, dataMap, metaMap, cursorRegistry);
    }

    /**
     * Builds an ordered index in one pass over the documents; upstream makes two (a uniqueness check first), which
     * doubled the time the store takes to open. Indexes of the same name, and unique ones, go the upstream way.
     */
    @Override
    public void addIndex(Index<Object> index) {
        boolean known = getIndexes().stream().anyMatch(existing -> existing.getName().equals(index.getName()));
        if (!(index instanceof OrderedIndex ordered) || known || !index.isEmpty()) {
            super.addIndex(index);
            return;
        }
        streamAllDocumentsWithPosition()
            .forEach(document -> ordered.add(document.getDocument(), document.getPosition(), this));
        getIndexes().add(index);
    }

    /** `_id` lookups stay with the unique index; a usable ordered index beats a scan. */
    private QueryPlan plan(Document query, Document orderBy) {
        if (query == null || query.isEmpty()) {
            return null;
        }
        for (Index<Object> index : getIndexes()) {
            if (index.isUnique() && index.canHandle(query)) {
                return null;
            }
        }
        return QueryPlan.choose(getIndexes(), query, orderBy);
    }

    /**
     * The document positions for a filter with an `_id` equality among other conditions (`{_id, accountId}`,
     * `{_id, status}`): upstream's unique index only serves a filter on `_id` alone, and anything else would scan.
     */
    private Iterable<Object> idPositions(Document query) {
        if (query == null || query.size() < 2 || !QueryPlan.isScalar(query.get("_id"))) {
            return null;
        }
        Document byId = new Document();
        byId.put("_id", query.get("_id"));
        for (Index<Object> index : getIndexes()) {
            if (index.isUnique() && index.canHandle(byId)) {
                return index.getPositions(byId);
            }
        }
        return null;
    }

    @Override
    protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit, int batchSize,
                                         Document fieldSelector) {
        Iterable<Object> byId = idPositions(query);
        if (byId != null) {
            return matchDocuments(query, byId, orderBy, numberToSkip, limit, batchSize, fieldSelector);
        }
        QueryPlan plan = plan(query, orderBy);
        if (plan == null) {
            return super.queryDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
        }
        if (plan.ordered()) {
            // Lazy: filtering, skip and limit pull entries one by one, so a page stops the walk. When the index
            // alone decides the filter, skipped entries are passed over without reading their documents.
            Stream<Object> positions = plan.entries().stream()
                .peek(entry -> Deadline.tick())
                .map(OrderedIndex.Entry::position)
                .distinct();
            int skipInMatch = numberToSkip;
            if (plan.coversFilter() && numberToSkip > 0) {
                positions = positions.skip(numberToSkip);
                skipInMatch = 0;
            }
            Stream<Document> documents = positions.map(this::getDocument).filter(Objects::nonNull);
            return matchDocumentsFromStream(query, documents, skipInMatch, limit, batchSize, null, fieldSelector);
        }
        Set<Object> positions = new LinkedHashSet<>();
        for (OrderedIndex.Entry entry : plan.entries()) {
            Deadline.tick();
            positions.add(entry.position());
        }
        Stream<Document> candidates = positions.stream().map(this::getDocument).filter(Objects::nonNull);
        return sortAndPage(candidates, query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
    }

    /**
     * Upstream sorts every matching document before applying skip and limit, so a sorted query over a large
     * collection held all of it on the heap at once (and ran the store out of memory). With a limit only the best
     * skip + limit documents are kept while the candidates stream past.
     */
    private QueryResult sortAndPage(Stream<Document> candidates, Document query, Document orderBy, int numberToSkip,
                                    int limit, int batchSize, Document fieldSelector) {
        Comparator<Document> comparator = deriveComparator(orderBy);
        if (comparator == null || limit <= 0) {
            return matchDocumentsFromStream(query, candidates, numberToSkip, limit, batchSize, comparator,
                fieldSelector);
        }
        int keep = numberToSkip + limit;
        PriorityQueue<Document> best = new PriorityQueue<>(keep + 1, comparator.reversed());
        candidates.filter(document -> documentMatchesQuery(document, query)).forEach(document -> {
            best.add(document);
            if (best.size() > keep) {
                best.poll();
            }
        });
        List<Document> sorted = new ArrayList<>(best);
        sorted.sort(comparator);
        return matchDocumentsFromStream(query, sorted.stream(), numberToSkip, limit, batchSize, null, fieldSelector);
    }

    /** Counting an equality filter an index covers reads index entries only, never the documents. */
    @Override
    public int count(Document query, int skip, int limit) {
        QueryPlan plan = idPositions(query) == null ? plan(query, null) : null;
        if (plan == null || !plan.coversFilter()) {
            return super.count(query, skip, limit);
        }
        long count = plan.entries().stream().peek(entry -> Deadline.tick()).map(OrderedIndex.Entry::position)
            .distinct().count();
        count = Math.max(0, count - Math.max(skip, 0));
        return (int) (limit > 0 ? Math.min(limit, count) : count);
    }

    /** The full scan, as upstream, plus the deadline check. */
    @Override
    protected QueryResult matchDocuments(Document query, Document orderBy, int numberToSkip, int limit, int batchSize,
                                         Document fieldSelector) {
        int size = count();
        if (size > SCAN_WARNING) {
            log.warn("full scan of {} ({} documents) for {}", getFullName(), size, query);
        }
        Stream<DocumentWithPosition<Object>> all = streamAllDocumentsWithPosition().peek(d -> Deadline.tick());
        if (isNaturalDescending(orderBy)) {
            all = all.sorted((a, b) -> de.bwaldvogel.mongo.backend.ValueComparator.desc()
                .compare(a.getPosition(), b.getPosition()));
            return matchDocumentsFromStream(all.map(DocumentWithPosition::getDocument), query, orderBy, numberToSkip,
                limit, batchSize, fieldSelector);
        }
        return sortAndPage(all.map(DocumentWithPosition::getDocument), query, orderBy, numberToSkip, limit, batchSize,
            fieldSelector);
    }

}
