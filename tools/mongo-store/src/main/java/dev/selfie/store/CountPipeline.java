package dev.selfie.store;

import java.util.List;
import java.util.Map;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.bson.Document;

/**
 * The drivers' `countDocuments` is the pipeline [{$match}, {$skip}?, {$limit}?, {$group: {_id: 1, n: {$sum: 1}}}].
 * Upstream runs every aggregation over the whole collection; this shape is answered by the collection's count, which
 * uses the indexes. Any other pipeline goes the generic way.
 */
final class CountPipeline {
    private CountPipeline() {
    }

    static Document answer(IndexedDatabase database, Document command) {
        if (!(command.get("aggregate") instanceof String collectionName)
            || !(command.get("pipeline") instanceof List<?> stages) || stages.size() < 2 || stages.size() > 4) {
            return null;
        }
        if (!(stages.get(0) instanceof Document first) || first.size() != 1
            || !(first.get("$match") instanceof Document match) || !isCountGroup(stages.get(stages.size() - 1))) {
            return null;
        }
        int skip = 0;
        int limit = 0;
        for (Object stage : stages.subList(1, stages.size() - 1)) {
            if (!(stage instanceof Document document) || document.size() != 1) {
                return null;
            }
            Map.Entry<String, Object> only = document.entrySet().iterator().next();
            if (!(only.getValue() instanceof Number number)) {
                return null;
            }
            switch (only.getKey()) {
                case "$skip" -> skip = number.intValue();
                case "$limit" -> limit = number.intValue();
                default -> {
                    return null;
                }
            }
        }
        MongoCollection<Object> collection = database.resolveCollection(collectionName, false);
        int n = collection == null ? 0 : collection.count(match, skip, limit);
        Document cursor = new Document();
        cursor.put("id", 0L);
        cursor.put("ns", database.namespace(collectionName));
        cursor.put("firstBatch", n == 0 ? List.of() : List.of(countDocument(n)));
        Document response = new Document();
        response.put("cursor", cursor);
        response.put("ok", 1.0);
        return response;
    }

    private static Document countDocument(int n) {
        Document document = new Document();
        document.put("_id", 1);
        document.put("n", n);
        return document;
    }

    private static boolean isCountGroup(Object stage) {
        if (!(stage instanceof Document document) || document.size() != 1
            || !(document.get("$group") instanceof Document group) || group.size() != 2) {
            return false;
        }
        return group.get("_id") instanceof Number id && id.intValue() == 1
            && group.get("n") instanceof Document sum && sum.size() == 1
            && sum.get("$sum") instanceof Number one && one.intValue() == 1;
    }
}
