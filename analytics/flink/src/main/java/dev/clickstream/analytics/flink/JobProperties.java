package dev.clickstream.analytics.flink;

import com.amazonaws.services.kinesisanalytics.runtime.KinesisAnalyticsRuntime;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Collections;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The job's settings: Managed Flink runtime properties (or a local file in the same JSON format) over the
 * defaults in {@code job-defaults.properties}. Property groups only organise the console; keys are global.
 */
public final class JobProperties {
    static final String DEFAULTS_RESOURCE = "/job-defaults.properties";
    private static final Pattern STREAM_ARN = Pattern.compile("^arn:aws[a-z-]*:kinesis:[^:]*:\\d*:stream/(.+)$");
    /** Keys that end up unquoted in SQL (interval literals, frame sizes): numbers only. */
    private static final Pattern NUMERIC = Pattern.compile("^\\d+(\\.\\d+)?$");
    static final String[] NUMERIC_KEYS = {
        "parallelism", "checkpoint.interval.ms", "watermark.out-of-orderness.seconds", "session.gap.minutes",
        "anomaly.baseline.windows", "anomaly.baseline.min-windows", "anomaly.z-threshold", "anomaly.z-critical",
        "anomaly.min-volume", "anomaly.ratio.min-stddev", "clock.ticks-per-second", "silence.window.minutes",
        "silence.min-active-minutes", "live.step.seconds", "sink.flush-buffer.timeout.ms",
    };

    private final Map<String, String> values;

    private JobProperties(Map<String, String> values) {
        this.values = Collections.unmodifiableMap(values);
    }

    /** Defaults overlaid with the given properties, validated, plus derived keys (stream names from ARNs). */
    public static JobProperties of(Map<String, String> overrides) {
        Map<String, String> merged = new TreeMap<>(defaults());
        merged.putAll(overrides);
        for (String key : NUMERIC_KEYS) {
            String value = merged.get(key);
            if (value == null || !NUMERIC.matcher(value.trim()).matches()) {
                throw new IllegalArgumentException("job property " + key + " must be a non-negative number, got " + value);
            }
            merged.put(key, value.trim());
        }
        for (Map.Entry<String, String> entry : new TreeMap<>(merged).entrySet()) {
            if (!entry.getKey().endsWith(".stream.arn")) continue;
            Matcher arn = STREAM_ARN.matcher(entry.getValue());
            if (!arn.matches()) throw new IllegalArgumentException(entry.getKey() + " is not a Kinesis stream ARN: " + entry.getValue());
            String nameKey = entry.getKey().replace(".stream.arn", ".stream.name");
            merged.putIfAbsent(nameKey, arn.group(1));
        }
        return new JobProperties(merged);
    }

    /** Managed Flink: /etc/flink/application_properties.json. Locally: the same format from a file. */
    public static JobProperties load(String localFile) throws IOException {
        Map<String, Properties> groups = localFile == null
            ? KinesisAnalyticsRuntime.getApplicationProperties()
            : KinesisAnalyticsRuntime.getApplicationProperties(localFile);
        Map<String, String> flat = new TreeMap<>();
        for (Map.Entry<String, Properties> group : groups.entrySet()) {
            for (String key : group.getValue().stringPropertyNames()) {
                String previous = flat.put(key, group.getValue().getProperty(key));
                if (previous != null) throw new IllegalArgumentException("job property " + key + " is set in more than one group");
            }
        }
        return of(flat);
    }

    static Map<String, String> defaults() {
        Properties properties = new Properties();
        try (InputStream in = JobProperties.class.getResourceAsStream(DEFAULTS_RESOURCE)) {
            if (in == null) throw new IllegalStateException(DEFAULTS_RESOURCE + " is missing from the jar");
            properties.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, String> map = new TreeMap<>();
        for (String key : properties.stringPropertyNames()) map.put(key, properties.getProperty(key));
        return map;
    }

    public String get(String key) {
        return values.get(key);
    }

    public String require(String key) {
        String value = values.get(key);
        if (value == null || value.isEmpty()) throw new IllegalArgumentException("job property " + key + " is required");
        return value;
    }

    public long getLong(String key) {
        return Long.parseLong(require(key));
    }

    public Map<String, String> asMap() {
        return values;
    }
}
