package dev.clickstream.analytics.flink;

import org.apache.flink.table.api.StatementSet;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.api.config.ExecutionConfigOptions;
import org.apache.flink.table.api.config.TableConfigOptions;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The job as SQL: table definitions, views and INSERTs from {@code sql/*.sql}, with connector fragments from
 * {@code sql/connectors/<connector.profile>/}. All INSERTs go into one statement set, so they form one job.
 */
public final class AnalyticsPipeline {
    /** In order: the source, shared views, the sinks, then the aggregate and the anomaly queries. */
    public static final List<String> SCRIPTS = List.of(
        "sql/01-source.sql", "sql/02-events.sql", "sql/03-sinks.sql", "sql/10-aggregates.sql", "sql/20-anomalies.sql");
    public static final List<String> CONNECTORS = List.of("events-source", "clock-ticks", "aggregates-sink", "anomalies-sink");

    private AnalyticsPipeline() {}

    /** Every statement of the job, placeholders resolved. */
    public static List<String> statements(JobProperties properties) {
        Map<String, String> values = properties.asMap();
        Map<String, String> fragments = new LinkedHashMap<>();
        // Only the Kinesis fragments use it, and they need aws.region: without one the placeholder stays unknown.
        if (values.containsKey("aws.region")) fragments.put("aws.connector-options", awsConnectorOptions(values));
        String profile = properties.require("connector.profile");
        for (String connector : CONNECTORS) {
            String path = "sql/connectors/" + profile + "/" + connector + ".sql";
            fragments.put(SqlScript.CONNECTOR_PREFIX + connector,
                SqlScript.substitute(SqlScript.resource(path), path, values, fragments).trim());
        }
        List<String> statements = new ArrayList<>();
        for (String script : SCRIPTS) {
            statements.addAll(SqlScript.statements(SqlScript.substitute(SqlScript.resource(script), script, values, fragments)));
        }
        return statements;
    }

    /** Runs the DDL and views, and returns the INSERTs as one statement set (not yet executed). */
    public static StatementSet build(TableEnvironment tableEnv, JobProperties properties) {
        configure(tableEnv, properties);
        StatementSet inserts = tableEnv.createStatementSet();
        for (String statement : statements(properties)) {
            if (statement.toUpperCase(Locale.ROOT).startsWith("INSERT")) inserts.addInsertSql(statement);
            else tableEnv.executeSql(statement);
        }
        return inserts;
    }

    static void configure(TableEnvironment tableEnv, JobProperties properties) {
        var config = tableEnv.getConfig();
        // Windows and DATE_FORMAT work on UTC wall-clock timestamps; say so rather than inherit the host's zone.
        config.set(TableConfigOptions.LOCAL_TIME_ZONE, "UTC");
        config.set(ExecutionConfigOptions.TABLE_EXEC_SOURCE_IDLE_TIMEOUT,
            org.apache.flink.util.TimeUtils.parseDuration(properties.require("source.idle-timeout")));
        config.set(ExecutionConfigOptions.IDLE_STATE_RETENTION,
            org.apache.flink.util.TimeUtils.parseDuration(properties.require("state.ttl")));
        config.getConfiguration().setString("pipeline.name", properties.require("pipeline.name"));
    }

    /** {@code 'aws.x' = 'v'} for every aws.* property: region, endpoint, credentials provider, trust settings. */
    static String awsConnectorOptions(Map<String, String> values) {
        String options = values.entrySet().stream()
            .filter(entry -> entry.getKey().startsWith("aws."))
            .map(entry -> "'" + entry.getKey() + "' = '" + entry.getValue().replace("'", "''") + "'")
            .collect(Collectors.joining(",\n  "));
        return options;
    }
}
