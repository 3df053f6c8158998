package dev.clickstream.analytics.flink;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;

import java.time.Instant;

/** Enriched events as the enrich stage writes them to events-enriched (schemas/enriched/1-0-0.json). */
final class TestEvents {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String HOST = "shop.example.com";

    private final ObjectNode event = JSON.createObjectNode();
    private final ObjectNode enrichment = JSON.createObjectNode();

    private TestEvents(String type, String messageId, String visitor, Instant time) {
        event.put("type", type).put("messageId", messageId).put("anonymousId", visitor)
            .put("timestamp", time.toString().replace("Z", "").concat(time.getNano() == 0 ? ".000Z" : "Z"))
            .put("receivedAt", time.plusSeconds(1).toString());
        enrichment.put("event_date", time.toString().substring(0, 10)).put("event_hour", time.atZone(java.time.ZoneOffset.UTC).getHour())
            .put("lateness_seconds", 1).put("is_late", false).put("is_bot", false)
            .putNull("device_type").putNull("page_host").putNull("page_path").putNull("referrer_host").putNull("utm_source")
            .put("enriched_at", time.plusSeconds(2).toString());
        event.set("enrichment", enrichment);
    }

    static TestEvents page(String messageId, String visitor, String isoTime, String path) {
        return new TestEvents("page", messageId, visitor, Instant.parse(isoTime)).onPage(path);
    }

    static TestEvents track(String messageId, String visitor, String isoTime, String name, String path) {
        TestEvents e = new TestEvents("track", messageId, visitor, Instant.parse(isoTime)).onPage(path);
        e.event.put("event", name);
        return e;
    }

    static TestEvents page(String messageId, String visitor, Instant time, String path) {
        return new TestEvents("page", messageId, visitor, time).onPage(path);
    }

    private TestEvents onPage(String path) {
        enrichment.put("page_host", HOST).put("page_path", path);
        ObjectNode context = event.putObject("context");
        context.putObject("page").put("url", "https://" + HOST + path).put("path", path);
        return this;
    }

    TestEvents referrer(String host) {
        enrichment.put("referrer_host", host);
        return this;
    }

    TestEvents utmSource(String source) {
        enrichment.put("utm_source", source);
        return this;
    }

    TestEvents device(String type) {
        enrichment.put("device_type", type);
        return this;
    }

    TestEvents bot() {
        enrichment.put("is_bot", true);
        return this;
    }

    String json() {
        try {
            return JSON.writeValueAsString(event);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
