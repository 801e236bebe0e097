package dev.selfie.store;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Set;
import java.util.regex.Pattern;

import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.bson.Document;

/**
 * How a filter (and sort) is served from one {@link OrderedIndex}: equality on a prefix of its keys, then at most one
 * range on the next key. When the sort follows the remaining keys (forwards or backwards), documents come out already
 * in order and a `limit` stops the scan early; otherwise the range's documents are sorted in memory.
 */
record QueryPlan(OrderedIndex index, Object[] low, Object[] high, int equalityKeys, boolean ranged, int direction,
                 boolean coversFilter) {

    private static final Object NONE = new Object();
    private static final Set<String> RANGE_OPERATORS = Set.of("$gt", "$gte", "$lt", "$lte");

    /** True when the documents come out in the requested order (no sort needed). */
    boolean ordered() {
        return direction != 0;
    }

    NavigableSet<OrderedIndex.Entry> entries() {
        NavigableSet<OrderedIndex.Entry> range = index.range(low, high);
        return direction < 0 ? range.descendingSet() : range;
    }

    /** The best plan over the collection's ordered indexes, or null when none has an equality on its first key. */
    static QueryPlan choose(List<Index<Object>> indexes, Document query, Document orderBy) {
        QueryPlan best = null;
        for (Index<Object> candidate : indexes) {
            if (!(candidate instanceof OrderedIndex index)) {
                continue;
            }
            QueryPlan plan = of(index, query, orderBy);
            if (plan != null && (best == null || plan.score() > best.score())) {
                best = plan;
            }
        }
        return best;
    }

    private int score() {
        return equalityKeys * 4 + (ranged ? 2 : 0) + (ordered() ? 1 : 0);
    }

    private static QueryPlan of(OrderedIndex index, Document query, Document orderBy) {
        List<IndexKey> keys = index.getKeys();
        int n = keys.size();
        Object[] low = new Object[n];
        Object[] high = new Object[n];
        int k = 0;
        while (k < n) {
            Object value = equalityValue(query.get(keys.get(k).getKey()));
            if (value == NONE) {
                break;
            }
            low[k] = value;
            high[k] = value;
            k++;
        }
        if (k == 0) {
            return null;
        }
        boolean ranged = false;
        for (int i = k; i < n; i++) {
            low[i] = OrderedIndex.LOW;
            high[i] = OrderedIndex.HIGH;
        }
        if (k < n) {
            Object[] bounds = rangeBounds(query.get(keys.get(k).getKey()));
            if (bounds != null) {
                ranged = true;
                boolean asc = index.isAscending(k);
                if (bounds[0] != null) {
                    if (asc) low[k] = bounds[0]; else high[k] = bounds[0];
                }
                if (bounds[1] != null) {
                    if (asc) high[k] = bounds[1]; else low[k] = bounds[1];
                }
            }
        }
        boolean covers = !ranged && query.keySet().size() == k && keys.subList(0, k).stream()
            .allMatch(key -> query.containsKey(key.getKey()));
        return new QueryPlan(index, low, high, k, ranged, direction(keys, k, orderBy), covers);
    }

    /** +1 / -1 when sorting by `orderBy` is walking the keys after the equality prefix forwards / backwards. */
    private static int direction(List<IndexKey> keys, int equalityKeys, Document orderBy) {
        if (orderBy == null || orderBy.isEmpty()) {
            return 1;
        }
        List<Map.Entry<String, Object>> sort = new ArrayList<>();
        for (Map.Entry<String, Object> entry : orderBy.entrySet()) {
            boolean constant = keys.subList(0, equalityKeys).stream().anyMatch(k -> k.getKey().equals(entry.getKey()));
            if (!constant) {
                sort.add(entry);
            }
        }
        if (sort.size() > keys.size() - equalityKeys) {
            return 0;
        }
        int direction = 0;
        for (int i = 0; i < sort.size(); i++) {
            IndexKey key = keys.get(equalityKeys + i);
            Map.Entry<String, Object> wanted = sort.get(i);
            if (!key.getKey().equals(wanted.getKey()) || !(wanted.getValue() instanceof Number dir)) {
                return 0;
            }
            int d = (dir.intValue() > 0) == key.isAscending() ? 1 : -1;
            if (direction != 0 && d != direction) {
                return 0;
            }
            direction = d;
        }
        return direction == 0 ? 1 : direction;
    }

    /** A plain value (or `{$eq: value}`) that index entries can be compared with; NONE for anything else. */
    private static Object equalityValue(Object condition) {
        if (condition instanceof Document document) {
            if (document.size() != 1 || !document.containsKey("$eq")) {
                return NONE;
            }
            condition = document.get("$eq");
        }
        if (!isScalar(condition)) {
            return NONE;
        }
        return normalize(condition);
    }

    /** [lower, upper] (either may be null) for a filter made only of $gt/$gte/$lt/$lte on scalars; null otherwise. */
    private static Object[] rangeBounds(Object condition) {
        if (!(condition instanceof Document document) || document.isEmpty()
            || !RANGE_OPERATORS.containsAll(document.keySet())) {
            return null;
        }
        Object lower = null;
        Object upper = null;
        for (Map.Entry<String, Object> entry : document.entrySet()) {
            if (!isScalar(entry.getValue())) {
                return null;
            }
            Object value = normalize(entry.getValue());
            // Two bounds on one side: keep the wider one; the filter still checks both exactly.
            if (entry.getKey().startsWith("$g")) {
                lower = lower == null ? value : widest(lower, value, false);
            } else {
                upper = upper == null ? value : widest(upper, value, true);
            }
        }
        return new Object[] {lower, upper};
    }

    private static Object widest(Object a, Object b, boolean upper) {
        int c = de.bwaldvogel.mongo.backend.ValueComparator.asc().compare(a, b);
        return (c >= 0) == upper ? a : b;
    }

    static boolean isScalar(Object value) {
        return value != null && !(value instanceof Document) && !(value instanceof Collection<?>)
            && !(value instanceof Pattern) && !(value instanceof de.bwaldvogel.mongo.backend.Missing);
    }

    private static Object normalize(Object value) {
        return new KeyValue(value).normalized().get(0);
    }
}
