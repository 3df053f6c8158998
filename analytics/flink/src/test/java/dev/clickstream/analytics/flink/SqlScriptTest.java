package dev.clickstream.analytics.flink;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Placeholder substitution and statement splitting, without a cluster. */
class SqlScriptTest {

    @Test
    void propertiesAreQuotedFragmentsAreNotAndCommentsAreDropped() {
        String sql = SqlScript.substitute("-- ${ignored}\nSELECT '${name}' FROM t WITH (${connector.x});",
            "test.sql", Map.of("name", "it's"), Map.of("connector.x", "'a' = 'b'"));
        assertEquals("\nSELECT 'it''s' FROM t WITH ('a' = 'b');", sql);
    }

    @Test
    void anUnknownPlaceholderNamesTheKeyAndTheFile() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
            () -> SqlScript.substitute("SELECT '${missing.key}'", "sql/x.sql", Map.of(), Map.of()));
        assertTrue(error.getMessage().contains("${missing.key} in sql/x.sql"), error.getMessage());
    }

    @Test
    void statementsSplitAtSemicolonsOutsideQuotes() {
        assertEquals(List.of("SELECT ';' AS `a;b`", "SELECT 2"), SqlScript.statements("SELECT ';' AS `a;b`;\n SELECT 2;\n"));
    }

    @Test
    void kinesisProfileTakesStreamNamesFromArnsAndPassesAwsOptionsThrough() {
        JobProperties properties = JobProperties.of(Map.of(
            "aws.region", "eu-west-1",
            "events.stream.arn", "arn:aws:kinesis:eu-west-1:123456789012:stream/events-enriched",
            "aggregates.stream.arn", "arn:aws:kinesis:eu-west-1:123456789012:stream/aggregates",
            "anomalies.stream.arn", "arn:aws:kinesis:eu-west-1:123456789012:stream/anomalies"));
        String source = AnalyticsPipeline.statements(properties).get(0);
        assertTrue(source.contains("'stream' = 'events-enriched'"), source);
        assertTrue(source.contains("'aws.region' = 'eu-west-1'"), source);
        assertTrue(source.contains("'scan.stream.initpos' = 'TRIM_HORIZON'"), source);
        assertTrue(source.contains("INTERVAL '5' SECOND"), source);
    }

    @Test
    void numericSettingsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> JobProperties.of(Map.of("anomaly.baseline.windows", "10 PRECEDING")));
    }

    @Test
    void withoutARegionTheKinesisProfileSaysWhatIsMissing() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
            () -> AnalyticsPipeline.statements(JobProperties.of(Map.of("events.stream.name", "e"))));
        assertTrue(error.getMessage().contains("aws.region"), error.getMessage());
    }
}
