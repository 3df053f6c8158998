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
import java.util.stream.IntStream;

import static dev.clickstream.analytics.flink.TestEvents.page;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The session gap counted in whole minutes, by the session rows and by total_minute's sessions_started alike, and a
 * visitor who never pauses: one session, each of its events counted once.
 */
class SessionsTest {
    static PipelineRun run;

    @BeforeAll
    static void runJob(@TempDir Path dir) throws Exception {
        List<TestEvents> events = new ArrayList<>(List.of(
            // E: 30 min 20 s apart, in minutes 12:00 and 12:31, 30 whole minutes with no event between: two sessions.
            page("e1", "E", "2024-05-01T12:00:50Z", "/home"),
            // F: 30 min 40 s apart, but in minutes 12:00 and 12:30, 29 empty minutes between: one session; f1 twice.
            page("f1", "F", "2024-05-01T12:00:10Z", "/home"),
            page("f1", "F", "2024-05-01T12:00:10Z", "/home"),
            page("f2", "F", "2024-05-01T12:30:50Z", "/pricing"),
            page("e2", "E", "2024-05-01T12:31:10Z", "/blog")));
        // M: a page every 20 s for 90 minutes, every one of them delivered twice: one session of 270 events.
        IntStream.range(0, 270).forEach(i -> {
            String at = Instant.parse("2024-05-01T12:31:00Z").plusSeconds(20L * i).toString();
            events.add(page("m" + i, "M", at, "/status"));
            events.add(page("m" + i, "M", at, "/status"));
        });
        run = PipelineRun.run(dir, events, Map.of());
    }

    @Test
    void theGapIsCountedInWholeMinutesAndAVisitorWhoNeverPausesHasOneSession() {
        assertEquals(Map.of(
            "2024-05-01T12:00:50.000Z E", "window_end=2024-05-01T12:00:50.000Z events=1 page_views=1 duration_seconds=0 entry_page=/home exit_page=/home",
            "2024-05-01T12:31:10.000Z E", "window_end=2024-05-01T12:31:10.000Z events=1 page_views=1 duration_seconds=0 entry_page=/blog exit_page=/blog",
            "2024-05-01T12:00:10.000Z F", "window_end=2024-05-01T12:30:50.000Z events=2 page_views=2 duration_seconds=1840 entry_page=/home exit_page=/pricing",
            "2024-05-01T12:31:00.000Z M", "window_end=2024-05-01T14:00:40.000Z events=270 page_views=270 duration_seconds=5380 entry_page=/status exit_page=/status"),
            PipelineRun.byWindow(run.aggregates("session"), "window_end", "events", "page_views", "duration_seconds", "entry_page", "exit_page"));
    }

    @Test
    void sessionsStartedPerMinuteAgreesWithTheSessionRows() {
        Map<String, Long> started = new TreeMap<>();
        for (JsonNode row : run.aggregates("total_minute")) {
            if (row.get("sessions_started").asLong() > 0) started.put(row.get("window_start").asText(), row.get("sessions_started").asLong());
        }
        assertEquals(Map.of(
            "2024-05-01T12:00:00.000Z", 2L,   // E and F
            "2024-05-01T12:31:00.000Z", 2L),  // E again, and M
            started);
    }
}
