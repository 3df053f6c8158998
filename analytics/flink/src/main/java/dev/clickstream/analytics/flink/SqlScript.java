package dev.clickstream.analytics.flink;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * SQL text from classpath resources with {@code ${key}} placeholders. A plain key is a job property, written
 * with single quotes doubled (it always stands inside a string literal or is a checked number). A key
 * {@code connector.NAME} is a WITH-clause fragment read from {@code sql/connectors/<profile>/NAME.sql}, so the
 * same queries run against Kinesis or files.
 */
public final class SqlScript {
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Za-z0-9_.-]+)}");
    static final String CONNECTOR_PREFIX = "connector.";

    private SqlScript() {}

    public static String resource(String path) {
        try (InputStream in = SqlScript.class.getResourceAsStream("/" + path)) {
            if (in == null) throw new IllegalArgumentException("SQL resource not found on the classpath: " + path);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Replaces every placeholder; an unknown one is an error naming the key and the file. */
    public static String substitute(String sql, String origin, Map<String, String> properties, Map<String, String> fragments) {
        Matcher matcher = PLACEHOLDER.matcher(stripComments(sql));
        StringBuilder out = new StringBuilder();
        while (matcher.find()) {
            String key = matcher.group(1);
            String replacement;
            if (fragments.containsKey(key)) {
                replacement = fragments.get(key);
            } else if (properties.containsKey(key)) {
                replacement = properties.get(key).replace("'", "''");
            } else {
                String hint = key.equals("aws.connector-options") ? " (set the job property aws.region)" : "";
                throw new IllegalArgumentException("${" + key + "} in " + origin + " has no job property or connector fragment" + hint);
            }
            matcher.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        matcher.appendTail(out);
        return out.toString();
    }

    /** Drops {@code --} comments outside string literals (placeholders in comments are documentation). */
    static String stripComments(String sql) {
        StringBuilder out = new StringBuilder(sql.length());
        boolean inString = false;
        for (int i = 0; i < sql.length(); i++) {
            char c = sql.charAt(i);
            if (c == '\'') inString = !inString;
            if (!inString && c == '-' && i + 1 < sql.length() && sql.charAt(i + 1) == '-') {
                while (i < sql.length() && sql.charAt(i) != '\n') i++;
                out.append('\n');
                continue;
            }
            out.append(c);
        }
        return out.toString();
    }

    /** Splits a script at semicolons outside string literals and quoted identifiers; drops empty statements. */
    public static List<String> statements(String sql) {
        List<String> statements = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        char quote = 0;
        for (int i = 0; i < sql.length(); i++) {
            char c = sql.charAt(i);
            if (quote == 0 && (c == '\'' || c == '`')) quote = c;
            else if (quote == c) quote = 0;
            if (quote == 0 && c == ';') {
                addIfNotBlank(statements, current);
                current.setLength(0);
            } else {
                current.append(c);
            }
        }
        addIfNotBlank(statements, current);
        return statements;
    }

    private static void addIfNotBlank(List<String> statements, StringBuilder statement) {
        String text = statement.toString().trim();
        if (!text.isEmpty()) statements.add(text);
    }
}
