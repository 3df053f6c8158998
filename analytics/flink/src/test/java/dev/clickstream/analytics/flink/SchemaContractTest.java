package dev.clickstream.analytics.flink;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.table.catalog.Column;
import org.apache.flink.table.types.logical.LogicalTypeRoot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The sink tables of the real DDL have exactly the columns of schemas/aggregates and schemas/anomalies. */
class SchemaContractTest {

    private static Map<String, String> sinkColumns(Path dir, String table) {
        StreamTableEnvironment tableEnv = StreamTableEnvironment.create(
            StreamExecutionEnvironment.getExecutionEnvironment(), EnvironmentSettings.inStreamingMode());
        AnalyticsPipeline.build(tableEnv, PipelineRun.properties(dir, Map.of()));
        Map<String, String> columns = new TreeMap<>();
        for (Column column : tableEnv.from(table).getResolvedSchema().getColumns()) {
            columns.put(column.getName(), jsonType(column.getDataType().getLogicalType().getTypeRoot()));
        }
        return columns;
    }

    private static String jsonType(LogicalTypeRoot root) {
        switch (root) {
            case VARCHAR: case CHAR: return "string";
            case BIGINT: case INTEGER: return "integer";
            case DOUBLE: return "number";
            case BOOLEAN: return "boolean";
            default: throw new AssertionError("no JSON schema type for " + root);
        }
    }

    private static Map<String, String> schemaColumns(JsonNode schema) {
        Map<String, String> columns = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = schema.get("properties").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> property = it.next();
            List<String> types = new ArrayList<>(SchemaContract.types(schema, property.getValue()));
            types.remove("null");
            assertEquals(1, types.size(), property.getKey() + " has one non-null type");
            columns.put(property.getKey(), types.get(0));
        }
        return columns;
    }

    @Test
    void aggregatesSinkMatchesItsSchema(@TempDir Path dir) throws Exception {
        JsonNode schema = SchemaContract.load("aggregates");
        assertEquals(schemaColumns(schema), sinkColumns(dir, "aggregates_sink"));
        assertEquals(schema.get("properties").size(), schema.get("required").size(), "every property is always present");
    }

    @Test
    void anomaliesSinkMatchesItsSchema(@TempDir Path dir) throws Exception {
        JsonNode schema = SchemaContract.load("anomalies");
        assertEquals(schemaColumns(schema), sinkColumns(dir, "anomalies_sink"));
    }
}
