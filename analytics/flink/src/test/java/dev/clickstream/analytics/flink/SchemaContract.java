package dev.clickstream.analytics.flink;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** The output schemas in schemas/ (the one source of truth) and a small check of rows against them. */
final class SchemaContract {
    private SchemaContract() {}

    static JsonNode load(String name) throws IOException {
        Path dir = Paths.get(System.getProperty("schemas.dir", "../../schemas"));
        return TestEvents.JSON.readTree(dir.resolve(name).resolve("1-0-0.json").toFile());
    }

    /** The property's JSON types, following a local $ref. */
    static List<String> types(JsonNode schema, JsonNode property) {
        JsonNode resolved = resolve(schema, property);
        List<String> types = new ArrayList<>();
        JsonNode type = resolved.get("type");
        if (type.isArray()) type.forEach(t -> types.add(t.asText()));
        else types.add(type.asText());
        return types;
    }

    static JsonNode resolve(JsonNode schema, JsonNode property) {
        if (!property.has("$ref")) return property;
        String ref = property.get("$ref").asText();
        if (!ref.startsWith("#/definitions/")) throw new IllegalArgumentException("unsupported $ref " + ref);
        return schema.get("definitions").get(ref.substring("#/definitions/".length()));
    }

    /** Problems of one row: missing or extra properties, wrong types, enum and pattern violations. */
    static List<String> violations(JsonNode schema, JsonNode row) {
        List<String> problems = new ArrayList<>();
        JsonNode properties = schema.get("properties");
        for (JsonNode required : schema.get("required")) {
            if (!row.has(required.asText())) problems.add("missing " + required.asText());
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = row.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            JsonNode property = properties.get(field.getKey());
            if (property == null) {
                problems.add("unexpected " + field.getKey());
                continue;
            }
            JsonNode value = field.getValue();
            JsonNode resolved = resolve(schema, property);
            List<String> types = types(schema, property);
            String actual = value.isNull() ? "null" : value.isTextual() ? "string" : value.isIntegralNumber() ? "integer"
                : value.isNumber() ? "number" : value.isBoolean() ? "boolean" : "object";
            boolean typeOk = types.contains(actual) || (actual.equals("integer") && types.contains("number"));
            if (!typeOk) problems.add(field.getKey() + " is " + actual + ", schema says " + types);
            if (value.isTextual() && resolved.has("pattern") && !Pattern.compile(resolved.get("pattern").asText()).matcher(value.asText()).find()) {
                problems.add(field.getKey() + " '" + value.asText() + "' does not match " + resolved.get("pattern").asText());
            }
            if (!value.isNull() && resolved.has("enum")) {
                boolean listed = false;
                for (JsonNode option : resolved.get("enum")) listed |= option.equals(value);
                if (!listed) problems.add(field.getKey() + " '" + value.asText() + "' is not in " + resolved.get("enum"));
            }
        }
        return problems;
    }
}
