package dev.clickstream.analytics.flink;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static dev.clickstream.analytics.flink.TestEvents.page;
import static dev.clickstream.analytics.flink.TestEvents.track;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One run of the real job over a fixed event set, in arrival (file) order, with the default 5 s out-of-orderness.
 * A = desktop visitor from google.com (newsletter), B = mobile, C = a bot, D = one page view later.
 */
class AggregatesTest {
    static PipelineRun run;

    @BeforeAll
    static void runJob(@TempDir Path dir) throws Exception {
        run = PipelineRun.run(dir, List.of(
            page("m1", "A", "2024-05-01T12:00:05Z", "/home").referrer("google.com").utmSource("newsletter").device("desktop"),
            page("m2", "B", "2024-05-01T12:00:10Z", "/home").device("mobile"),
            track("m3", "A", "2024-05-01T12:00:20Z", "Signup Clicked", "/home").device("desktop"),
            page("m4", "A", "2024-05-01T12:00:30Z", "/pricing").device("desktop"),
            page("m4", "A", "2024-05-01T12:00:30Z", "/pricing").device("desktop"),   // delivered twice
            page("m5", "C", "2024-05-01T12:00:40Z", "/home").bot(),
            page("m6", "B", "2024-05-01T12:01:10Z", "/pricing").device("mobile"),  // watermark 12:01:05: 12:00 fires
            page("m7", "A", "2024-05-01T12:00:50Z", "/home").device("desktop"),    // behind a fired window: late
            page("m8", "B", "2024-05-01T12:01:02Z", "/home").device("mobile"),     // behind the watermark, window open
            page("m9", "D", "2024-05-01T12:02:30Z", "/home"),
            page("m10", "A", "2024-05-01T12:40:00Z", "/blog").device("desktop")    // A returns after > 30 min
        ), Map.of());
    }

    @Test
    void totalsPerMinuteCountEachMessageOnceDropLateEventsAndCountSessionStarts() {
        assertEquals(Map.of(
            "2024-05-01T12:00:00.000Z", "events=5 page_views=4 track_events=1 bot_events=1 unique_visitors=3 sessions_started=3 window_end=2024-05-01T12:01:00.000Z",
            "2024-05-01T12:01:00.000Z", "events=2 page_views=2 track_events=0 bot_events=0 unique_visitors=1 sessions_started=0 window_end=2024-05-01T12:02:00.000Z",
            "2024-05-01T12:02:00.000Z", "events=1 page_views=1 track_events=0 bot_events=0 unique_visitors=1 sessions_started=1 window_end=2024-05-01T12:03:00.000Z",
            "2024-05-01T12:40:00.000Z", "events=1 page_views=1 track_events=0 bot_events=0 unique_visitors=1 sessions_started=1 window_end=2024-05-01T12:41:00.000Z"),
            PipelineRun.byWindow(run.aggregates("total_minute"), "events", "page_views", "track_events", "bot_events", "unique_visitors",
                "sessions_started", "window_end"));
    }

    @Test
    void pagesPerMinuteCountViewsVisitorsAndEventsByType() {
        assertEquals(Map.of(
            "2024-05-01T12:00:00.000Z /home", "events=4 page_views=3 track_events=1 bot_events=1 unique_visitors=3 page_host=shop.example.com",
            "2024-05-01T12:00:00.000Z /pricing", "events=1 page_views=1 track_events=0 bot_events=0 unique_visitors=1 page_host=shop.example.com",
            "2024-05-01T12:01:00.000Z /home", "events=1 page_views=1 track_events=0 bot_events=0 unique_visitors=1 page_host=shop.example.com",
            "2024-05-01T12:01:00.000Z /pricing", "events=1 page_views=1 track_events=0 bot_events=0 unique_visitors=1 page_host=shop.example.com",
            "2024-05-01T12:02:00.000Z /home", "events=1 page_views=1 track_events=0 bot_events=0 unique_visitors=1 page_host=shop.example.com",
            "2024-05-01T12:40:00.000Z /blog", "events=1 page_views=1 track_events=0 bot_events=0 unique_visitors=1 page_host=shop.example.com"),
            PipelineRun.byWindow(run.aggregates("page_minute"), "events", "page_views", "track_events", "bot_events", "unique_visitors", "page_host"));
    }

    @Test
    void referrerUtmSourceAndDeviceBreakdownsAddUpToTheTotals() {
        Map<String, String> referrers = PipelineRun.byWindow(run.aggregates("referrer_minute"), "events", "unique_visitors");
        assertEquals("events=1 unique_visitors=1", referrers.get("2024-05-01T12:00:00.000Z google.com"));
        assertEquals("events=4 unique_visitors=3", referrers.get("2024-05-01T12:00:00.000Z (direct)"));
        Map<String, String> sources = PipelineRun.byWindow(run.aggregates("utm_source_minute"), "events");
        assertEquals("events=1", sources.get("2024-05-01T12:00:00.000Z newsletter"));
        assertEquals("events=4", sources.get("2024-05-01T12:00:00.000Z (none)"));
        Map<String, String> devices = PipelineRun.byWindow(run.aggregates("device_minute"), "events", "bot_events", "unique_visitors");
        assertEquals(Map.of(
            "2024-05-01T12:00:00.000Z desktop", "events=3 bot_events=0 unique_visitors=1",
            "2024-05-01T12:00:00.000Z mobile", "events=1 bot_events=0 unique_visitors=1",
            "2024-05-01T12:00:00.000Z (unknown)", "events=1 bot_events=1 unique_visitors=1",
            "2024-05-01T12:01:00.000Z mobile", "events=2 bot_events=0 unique_visitors=1",
            "2024-05-01T12:02:00.000Z (unknown)", "events=1 bot_events=0 unique_visitors=1",
            "2024-05-01T12:40:00.000Z desktop", "events=1 bot_events=0 unique_visitors=1"), devices);
    }

    @Test
    void sessionsSplitOnThirtyMinuteGapsWithEntryAndExitPages() {
        assertEquals(Map.of(
            // m4 twice delivered, counted once; m7 (12:00:50) missed its 1-minute window, and so A's session too.
            "2024-05-01T12:00:05.000Z A", "window_end=2024-05-01T12:00:30.000Z duration_seconds=25 events=3 page_views=2 entry_page=/home exit_page=/pricing",
            "2024-05-01T12:40:00.000Z A", "window_end=2024-05-01T12:40:00.000Z duration_seconds=0 events=1 page_views=1 entry_page=/blog exit_page=/blog",
            "2024-05-01T12:00:10.000Z B", "window_end=2024-05-01T12:01:10.000Z duration_seconds=60 events=3 page_views=3 entry_page=/home exit_page=/pricing",
            "2024-05-01T12:00:40.000Z C", "window_end=2024-05-01T12:00:40.000Z duration_seconds=0 events=1 page_views=1 entry_page=/home exit_page=/home",
            "2024-05-01T12:02:30.000Z D", "window_end=2024-05-01T12:02:30.000Z duration_seconds=0 events=1 page_views=1 entry_page=/home exit_page=/home"),
            PipelineRun.byWindow(run.aggregates("session"), "window_end", "duration_seconds", "events", "page_views", "entry_page", "exit_page"));
    }

    @Test
    void theLiveRowsOfAMinuteCountItSoFarEverySecondAndGrowToItsTotal() {
        Map<String, TreeMap<String, Long>> live = new TreeMap<>(); // minute → end of the part counted → events
        for (JsonNode row : run.aggregates("total_live")) {
            Long before = live.computeIfAbsent(row.get("window_start").asText(), k -> new TreeMap<>())
                .put(row.get("window_end").asText(), row.get("events").asLong());
            if (before != null) throw new AssertionError("two rows for " + row);
        }
        Map<String, String> totals = PipelineRun.byWindow(run.aggregates("total_minute"), "events");
        assertEquals(totals.keySet(), live.keySet(), "a live view of every minute with events");

        TreeMap<String, Long> noon = live.get("2024-05-01T12:00:00.000Z");
        assertEquals("2024-05-01T12:00:06.000Z", noon.firstKey(), "m1 (12:00:05) shows in the part up to 12:00:06");
        assertEquals(1L, noon.get("2024-05-01T12:00:06.000Z"));
        assertEquals(2L, noon.get("2024-05-01T12:00:11.000Z"), "m2 at 12:00:10");
        assertEquals(4L, noon.get("2024-05-01T12:00:31.000Z"), "m3, m4 (twice delivered, counted once)");
        // m6 (12:01:10) moved the watermark to 12:01:05 before m8 (12:01:02) came: the parts up to 12:01:05 had closed
        // empty, so m8 shows from the next one on.
        TreeMap<String, Long> next = live.get("2024-05-01T12:01:00.000Z");
        assertEquals("2024-05-01T12:01:06.000Z", next.firstKey(), next.toString());
        assertEquals(1L, next.get("2024-05-01T12:01:06.000Z"), "m8");
        assertEquals(2L, next.get("2024-05-01T12:01:11.000Z"), "m8 and m6");
        for (Map.Entry<String, TreeMap<String, Long>> minute : live.entrySet()) {
            List<Long> counts = List.copyOf(minute.getValue().values());
            for (int i = 1; i < counts.size(); i++) assertTrue(counts.get(i) >= counts.get(i - 1), minute.getKey() + " never shrinks: " + counts);
            long last = minute.getValue().lastEntry().getValue();
            long total = Long.parseLong(totals.get(minute.getKey()).substring("events=".length()));
            assertEquals(total, last, minute.getKey() + "'s last live row against its total_minute row");
            assertTrue(minute.getValue().lastKey().endsWith(":00.000Z"), "the last part ends with the minute");
        }
    }

    @Test
    void everyRowMatchesTheAggregatesSchema() throws Exception {
        JsonNode schema = SchemaContract.load("aggregates");
        assertEquals(31 + run.aggregates("total_live").size(), run.aggregates.size(),
            "4 total + 6 page + 5 referrer + 5 utm + 6 device + 5 session rows, and the live ones");
        for (JsonNode row : run.aggregates) assertEquals(List.of(), SchemaContract.violations(schema, row), row.toString());
    }

    @Test
    void noAnomalyWithoutABaseline() {
        assertEquals(List.of(), run.anomalies);
    }
}
