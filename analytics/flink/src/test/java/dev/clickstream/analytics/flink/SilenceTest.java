package dev.clickstream.analytics.flink;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sixteen minutes of traffic from 12:00. /home (about 30 views a minute) and "Add To Cart" (25 a minute) run
 * throughout; /pricing (30 a minute) stops after 12:11; /blog has 30 views but only every other minute; /docs a
 * steady 10 a minute. After 12:15 everything stops and only the clock ticks, to 12:20.
 */
class SilenceTest {
    static final Instant START = Instant.parse("2024-05-01T12:00:00Z");
    static final int MINUTES = 16;
    static PipelineRun run;

    static List<TestEvents> traffic() {
        List<TestEvents> events = new ArrayList<>();
        for (int minute = 0; minute < MINUTES; minute++) {
            List<String[]> plan = new ArrayList<>();
            for (int i = 0; i < 30 + minute % 3 - 1; i++) plan.add(new String[] {"page", "/home"});
            for (int i = 0; i < 25; i++) plan.add(new String[] {"track", "Add To Cart"});
            if (minute < 12) for (int i = 0; i < 30; i++) plan.add(new String[] {"page", "/pricing"});
            if (minute % 2 == 0) for (int i = 0; i < 30; i++) plan.add(new String[] {"page", "/blog"});
            for (int i = 0; i < 10; i++) plan.add(new String[] {"page", "/docs"});
            // Spread over the minute in a fixed interleaving, in time order, so nothing is late.
            for (int i = 0; i < plan.size(); i++) {
                String[] step = plan.get((int) ((long) i * 7919 % plan.size()));
                Instant time = START.plusSeconds(minute * 60L).plusMillis(i * 59_000L / plan.size());
                String id = "m" + minute + "-" + i;
                events.add("page".equals(step[0])
                    ? TestEvents.page(id, "v" + (i % 40), time, step[1])
                    : TestEvents.track(id, "v" + (i % 40), time.toString(), step[1], "/home"));
            }
        }
        return events;
    }

    static List<Instant> ticks() {
        List<Instant> ticks = new ArrayList<>();
        for (Instant t = START.plusSeconds(MINUTES * 60L); t.isBefore(START.plusSeconds(20 * 60L)); t = t.plusSeconds(1)) ticks.add(t);
        return ticks;
    }

    @BeforeAll
    static void runJob(@TempDir Path dir) throws Exception {
        run = PipelineRun.run(dir, traffic(), ticks(), Map.of());
    }

    static Map<String, JsonNode> silences() {
        Map<String, JsonNode> out = new TreeMap<>();
        for (JsonNode row : run.anomalies) {
            if (!"silence".equals(row.get("direction").asText())) continue;
            String key = row.get("metric").asText() + " " + row.get("dimension").asText() + " " + row.get("window_start").asText();
            if (out.put(key, row) != null) throw new AssertionError("reported twice: " + key);
        }
        return out;
    }

    @Test
    void aPageThatStopsIsReportedOnceInItsFirstEmptyMinuteAndTheEndOfAllTrafficForEveryUsualMetric() {
        assertEquals(List.of(
            "page_views shop.example.com/home 2024-05-01T12:16:00.000Z",
            "page_views shop.example.com/pricing 2024-05-01T12:12:00.000Z",
            "total_events all 2024-05-01T12:16:00.000Z",
            "track_events Add To Cart 2024-05-01T12:16:00.000Z"), new ArrayList<>(silences().keySet()),
            "/blog (every other minute) and /docs (10 a minute) do not usually have enough traffic to fall silent");
    }

    @Test
    void aSilenceRowSaysWhatWasExpectedAndFitsTheSchema() throws Exception {
        JsonNode pricing = silences().get("page_views shop.example.com/pricing 2024-05-01T12:12:00.000Z");
        assertEquals(0.0, pricing.get("observed").asDouble());
        assertEquals(30.0, pricing.get("expected").asDouble(), 0.001);
        assertEquals(Math.sqrt(30.0), pricing.get("stddev").asDouble(), 0.001);
        assertEquals(-Math.sqrt(30.0), pricing.get("score").asDouble(), 0.001);
        assertEquals("warning", pricing.get("severity").asText());
        assertEquals("2024-05-01T12:13:00.000Z", pricing.get("window_end").asText());
        assertEquals(10, pricing.get("baseline_windows").asInt());
        assertEquals(AnomaliesTest.md5("page_views|shop.example.com/pricing|2024-05-01T12:12:00.000Z|silence"), pricing.get("id").asText());
        assertEquals("critical", silences().get("total_events all 2024-05-01T12:16:00.000Z").get("severity").asText());

        JsonNode schema = SchemaContract.load("anomalies");
        for (JsonNode row : run.anomalies) assertEquals(List.of(), SchemaContract.violations(schema, row), row.toString());
    }

    @Test
    void theClockGivesMinutesWithNoEventsATotalRowOfZero() {
        Map<String, Long> totals = run.aggregates("total_minute").stream().collect(Collectors.toMap(
            row -> row.get("window_start").asText(), row -> row.get("events").asLong(), (a, b) -> { throw new AssertionError("two rows"); }, TreeMap::new));
        assertEquals(20, totals.size(), "12:00 to 12:19, one row a minute: " + totals);
        assertEquals(0L, totals.get("2024-05-01T12:16:00.000Z"));
        assertEquals(0L, totals.get("2024-05-01T12:19:00.000Z"));
        assertTrue(totals.get("2024-05-01T12:15:00.000Z") > 60);
    }
}
