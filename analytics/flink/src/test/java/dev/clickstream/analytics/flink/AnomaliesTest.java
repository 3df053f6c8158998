package dev.clickstream.analytics.flink;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fourteen minutes of steady traffic on /home and /pricing (about 30 page views a minute each). Minute 12 brings a
 * spike on /home and a drop on /pricing; the same traffic without them must yield no anomaly at all.
 */
class AnomaliesTest {
    static final Instant START = Instant.parse("2024-05-01T12:00:00Z");
    static final int MINUTES = 14;
    static final int CHANGED_MINUTE = 12;

    static List<TestEvents> traffic(boolean withChanges) {
        List<TestEvents> events = new ArrayList<>();
        for (int minute = 0; minute < MINUTES; minute++) {
            int home = 30 + minute % 3 - 1;
            int pricing = 30 - minute % 2;
            if (withChanges && minute == CHANGED_MINUTE) {
                home = 150;
                pricing = 5;
            }
            // Interleaved and in time order, so nothing is late.
            int total = home + pricing;
            for (int i = 0; i < total; i++) {
                Instant time = START.plusSeconds(minute * 60L).plusMillis(i * 59_000L / total);
                boolean isHome = i % 2 == 0 ? (i / 2) < home : (i / 2) >= pricing;
                String path = isHome ? "/home" : "/pricing";
                events.add(TestEvents.page("m" + minute + "-" + i, "v" + (i % 40), time, path));
            }
        }
        return events;
    }

    /** Spikes and drops. The traffic ends after minute 13, and that is a silence (SilenceTest), left out here. */
    static List<JsonNode> scored(List<JsonNode> anomalies) {
        return anomalies.stream().filter(row -> !"silence".equals(row.get("direction").asText())).collect(Collectors.toList());
    }

    private static Map<String, JsonNode> byMetric(List<JsonNode> anomalies) {
        Map<String, JsonNode> out = new TreeMap<>();
        for (JsonNode row : scored(anomalies)) out.put(row.get("metric").asText() + " " + row.get("dimension").asText() + " " + row.get("window_start").asText(), row);
        return out;
    }

    static String md5(String text) throws Exception {
        byte[] digest = MessageDigest.getInstance("MD5").digest(text.getBytes(StandardCharsets.UTF_8));
        return String.format("%032x", new BigInteger(1, digest));
    }

    @Test
    void aSpikeAndADropInMinuteTwelveAreReportedInThatWindow(@TempDir Path dir) throws Exception {
        PipelineRun run = PipelineRun.run(dir, traffic(true), Map.of());

        Map<String, JsonNode> anomalies = byMetric(run.anomalies);
        assertEquals(List.of(
            "page_views shop.example.com/home 2024-05-01T12:12:00.000Z",
            "page_views shop.example.com/pricing 2024-05-01T12:12:00.000Z",
            "total_events all 2024-05-01T12:12:00.000Z"), new ArrayList<>(anomalies.keySet()));

        JsonNode home = anomalies.get("page_views shop.example.com/home 2024-05-01T12:12:00.000Z");
        assertEquals(150.0, home.get("observed").asDouble());
        assertEquals(30.0, home.get("expected").asDouble(), 1.0);
        assertEquals("spike", home.get("direction").asText());
        assertEquals("critical", home.get("severity").asText());
        assertTrue(home.get("score").asDouble() > 6, "score " + home.get("score"));
        assertEquals(10, home.get("baseline_windows").asInt());
        assertEquals("2024-05-01T12:13:00.000Z", home.get("window_end").asText());
        assertEquals(md5("page_views|shop.example.com/home|2024-05-01T12:12:00.000Z"), home.get("id").asText());

        JsonNode pricing = anomalies.get("page_views shop.example.com/pricing 2024-05-01T12:12:00.000Z");
        assertEquals(5.0, pricing.get("observed").asDouble());
        assertEquals("drop", pricing.get("direction").asText());
        assertEquals("warning", pricing.get("severity").asText());
        assertTrue(pricing.get("score").asDouble() <= -3 && pricing.get("score").asDouble() > -6, "score " + pricing.get("score"));

        JsonNode schema = SchemaContract.load("anomalies");
        for (JsonNode row : run.anomalies) assertEquals(List.of(), SchemaContract.violations(schema, row), row.toString());

        JsonNode total = anomalies.get("total_events all 2024-05-01T12:12:00.000Z");
        assertEquals(155.0, total.get("observed").asDouble());
        assertEquals("spike", total.get("direction").asText());
    }

    @Test
    void theSameTrafficWithoutTheChangesYieldsNoAnomaly(@TempDir Path dir) throws Exception {
        PipelineRun run = PipelineRun.run(dir, traffic(false), Map.of());

        assertEquals(List.of(), scored(run.anomalies));
        assertEquals(MINUTES, run.aggregates("total_minute").size(), "every minute was aggregated");
    }

    @Test
    void aSpikeBelowTheMinimumVolumeIsNotReported(@TempDir Path dir) throws Exception {
        PipelineRun run = PipelineRun.run(dir, traffic(true), Map.of("anomaly.min-volume", "1000"));

        assertEquals(List.of(), run.anomalies, "nor a silence: the minimum volume applies to it too");
    }
}
