package dev.clickstream.analytics.flink;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Events per second through the whole job (all INSERTs) on a parallelism-1 mini cluster, from a JSON file.
 * Not part of `mvn verify`: run with {@code mvn test -Dbench.skip=none -Dtest=ThroughputBench}.
 */
@Tag("bench")
class ThroughputBench {
    @Test
    void eventsPerSecond(@TempDir Path dir) throws Exception {
        int count = Integer.getInteger("bench.events", 200_000);
        int perMinute = 2_000;
        Instant start = Instant.parse("2024-05-01T12:00:00Z");
        List<TestEvents> events = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            Instant time = start.plusMillis((long) i * 60_000 / perMinute);
            events.add(TestEvents.page("b" + i, "visitor-" + (i % 5_000), time, "/page/" + (i % 50)).device(i % 3 == 0 ? "mobile" : "desktop"));
        }
        long began = System.nanoTime();
        PipelineRun run = PipelineRun.run(dir, events, Map.of());
        double seconds = (System.nanoTime() - began) / 1e9;
        System.out.printf("[bench] %d events through the job in %.1f s (incl. ~3 s job start): %.0f events/s; %d aggregate rows%n",
            count, seconds, count / seconds, run.aggregates.size());
        assertEquals(count / perMinute, run.aggregates("total_minute").size());
    }
}
