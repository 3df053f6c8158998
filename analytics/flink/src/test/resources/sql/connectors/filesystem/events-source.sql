-- Tests: a bounded JSON file instead of events-enriched (ends with a MAX watermark, so every window fires).
'connector' = 'filesystem',
'path' = '${events.path}',
'format' = 'json',
'json.ignore-parse-errors' = 'true'
