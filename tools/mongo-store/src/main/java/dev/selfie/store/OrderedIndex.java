package dev.selfie.store;

import java.util.Comparator;
import java.util.List;
import java.util.NavigableSet;
import java.util.concurrent.ConcurrentSkipListSet;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.ValueComparator;
import de.bwaldvogel.mongo.bson.Document;

/**
 * A non-unique secondary index: entries (key values..., document position) kept sorted in MongoDB's value order,
 * honouring each key's direction. mongo-java-server ignores non-unique indexes, which makes every filtered query a
 * full scan. The entries live in memory and are rebuilt from the documents when the store opens, so they can never
 * disagree with the data after a crash; the cost is a scan at start-up (about a second per 100,000 documents).
 */
final class OrderedIndex extends Index<Object> {
    /** Bounds for range scans: below / above every value, whatever the key's direction. */
    static final Object LOW = new Object();
    static final Object HIGH = new Object();

    record Entry(Object[] values, Object position) {
    }

    private final boolean[] ascending;
    private final ConcurrentSkipListSet<Entry> entries;

    OrderedIndex(String name, List<IndexKey> keys, boolean sparse) {
        super(name, keys, sparse);
        ascending = new boolean[keys.size()];
        for (int i = 0; i < keys.size(); i++) {
            ascending[i] = keys.get(i).isAscending();
        }
        entries = new ConcurrentSkipListSet<>(comparator(ascending));
    }

    private static Comparator<Entry> comparator(boolean[] ascending) {
        ValueComparator values = ValueComparator.asc();
        return (a, b) -> {
            for (int i = 0; i < ascending.length; i++) {
                int c = compare(values, a.values[i], b.values[i], ascending[i]);
                if (c != 0) {
                    return c;
                }
            }
            return compare(values, a.position, b.position, true);
        };
    }

    private static int compare(ValueComparator values, Object a, Object b, boolean ascending) {
        if (a == b) {
            return 0;
        }
        if (a == LOW || b == HIGH) {
            return -1;
        }
        if (a == HIGH || b == LOW) {
            return 1;
        }
        int c = values.compare(a, b);
        return ascending ? c : -c;
    }

    boolean isAscending(int key) {
        return ascending[key];
    }

    /** Entries between two bounds (inclusive), in index order. */
    NavigableSet<Entry> range(Object[] low, Object[] high) {
        return entries.subSet(new Entry(low, LOW), true, new Entry(high, HIGH), true);
    }

    private void addEntries(Document document, Object position) {
        for (KeyValue keyValue : getKeyValues(document)) {
            entries.add(new Entry(toArray(keyValue), position));
        }
    }

    private void removeEntries(Document document, Object position) {
        for (KeyValue keyValue : getKeyValues(document)) {
            entries.remove(new Entry(toArray(keyValue), position));
        }
    }

    private static Object[] toArray(KeyValue keyValue) {
        return keyValue.stream().toArray();
    }

    /** Positions are the documents' ids (the H2 backend keys its data map by `_id`). */
    @Override
    public Object getPosition(Document document) {
        return document.get("_id");
    }

    @Override
    public void checkAdd(Document document, MongoCollection<Object> collection) {
        // not unique: nothing can conflict
    }

    @Override
    public void add(Document document, Object position, MongoCollection<Object> collection) {
        addEntries(document, position);
    }

    @Override
    public Object remove(Document document) {
        Object position = getPosition(document);
        removeEntries(document, position);
        return position;
    }

    /** Queries are planned by {@link IndexedCollection}, which also uses the sort order; the generic path never does. */
    @Override
    public boolean canHandle(Document query) {
        return false;
    }

    @Override
    public Iterable<Object> getPositions(Document query) {
        throw new UnsupportedOperationException("planned by IndexedCollection");
    }

    @Override
    public long getCount() {
        return entries.size();
    }

    @Override
    public long getDataSize() {
        return 0;
    }

    @Override
    public void checkUpdate(Document oldDocument, Document newDocument, MongoCollection<Object> collection) {
        // not unique: nothing can conflict
    }

    @Override
    public void updateInPlace(Document oldDocument, Document newDocument, Object position,
                              MongoCollection<Object> collection) {
        removeEntries(oldDocument, position);
        addEntries(newDocument, position);
    }

    @Override
    public void drop() {
        entries.clear();
    }
}
