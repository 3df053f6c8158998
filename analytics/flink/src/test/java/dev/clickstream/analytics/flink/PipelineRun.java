package dev.clickstream.analytics.flink;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The real job's SQL on a Flink mini cluster with the `filesystem` connector profile: a bounded JSON file in place
 * of events-enriched, JSON files in place of the two output streams. Parallelism 1, so the file order is the
 * arrival order and the run is deterministic.
 */
final class PipelineRun {
    final List<JsonNode> aggregates;
    final List<JsonNode> anomalies;

    private PipelineRun(List<JsonNode> aggregates, List<JsonNode> anomalies) {
        this.aggregates = aggregates;
        this.anomalies = anomalies;
    }

    static JobProperties properties(Path dir, Map<String, String> overrides) {
        Map<String, String> values = new HashMap<>();
        values.put("connector.profile", "filesystem");
        values.put("events.path", dir.resolve("events").toString());
        values.put("ticks.path", dir.resolve("ticks").toString());
        values.put("aggregates.path", dir.resolve("aggregates").toString());
        values.put("anomalies.path", dir.resolve("anomalies").toString());
        values.put("checkpoint.interval.ms", "0");
        values.putAll(overrides);
        return JobProperties.of(values);
    }

    static PipelineRun run(Path dir, List<TestEvents> events, Map<String, String> overrides) throws Exception {
        return run(dir, events, List.of(), overrides);
    }

    /** With clock ticks at the given times (the wall clock the job's clock_ticks source would give). */
    static PipelineRun run(Path dir, List<TestEvents> events, List<Instant> ticks, Map<String, String> overrides) throws Exception {
        Files.createDirectories(dir.resolve("events"));
        Files.write(dir.resolve("events/events.json"),
            events.stream().map(TestEvents::json).collect(Collectors.toList()), StandardCharsets.UTF_8);
        Files.createDirectories(dir.resolve("ticks"));
        Files.write(dir.resolve("ticks/ticks.json"), ticks.stream()
            .map(t -> "{\"tick_time\": \"" + t.toString().replace('T', ' ').replace("Z", "") + "\"}")
            .collect(Collectors.toList()), StandardCharsets.UTF_8);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        StreamTableEnvironment tableEnv = StreamTableEnvironment.create(env, EnvironmentSettings.inStreamingMode());
        AnalyticsPipeline.build(tableEnv, properties(dir, overrides)).execute().await();
        return new PipelineRun(rows(dir.resolve("aggregates")), rows(dir.resolve("anomalies")));
    }

    private static List<JsonNode> rows(Path dir) throws IOException {
        List<JsonNode> rows = new ArrayList<>();
        if (!Files.exists(dir)) return rows;
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path file : files.filter(Files::isRegularFile)
                .filter(f -> !f.getFileName().toString().startsWith(".") && !f.getFileName().toString().startsWith("_"))
                .collect(Collectors.toList())) {
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    if (!line.isBlank()) rows.add(parse(line));
                }
            }
        }
        return rows;
    }

    private static JsonNode parse(String line) {
        try {
            return TestEvents.JSON.readTree(line);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    List<JsonNode> aggregates(String kind) {
        return aggregates.stream().filter(r -> kind.equals(r.get("kind").asText())).collect(Collectors.toList());
    }

    /**
     * Rows by "window_start[ dimension]" → "field=value …" for the given fields; fails on two rows for one key.
     */
    static Map<String, String> byWindow(List<JsonNode> rows, String... fields) {
        Map<String, String> out = new TreeMap<>();
        for (JsonNode row : rows) {
            String key = row.get("window_start").asText() + (row.hasNonNull("page_path") ? " " + row.get("page_path").asText() : "")
                + (row.hasNonNull("referrer_host") ? " " + row.get("referrer_host").asText() : "")
                + (row.hasNonNull("utm_source") ? " " + row.get("utm_source").asText() : "")
                + (row.hasNonNull("device_type") ? " " + row.get("device_type").asText() : "")
                + (row.hasNonNull("visitor_id") ? " " + row.get("visitor_id").asText() : "");
            String value = Arrays.stream(fields).map(f -> f + "=" + row.get(f).asText()).collect(Collectors.joining(" "));
            if (out.put(key, value) != null) throw new AssertionError("two rows for " + key);
        }
        return out;
    }
}
