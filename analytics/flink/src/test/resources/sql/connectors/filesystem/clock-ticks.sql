-- Tests: ticks from a bounded JSON file ({"tick_time": "..."} per line; PipelineRun writes none unless asked), so
-- a test sets the wall clock it needs.
'connector' = 'filesystem',
'path' = '${ticks.path}',
'format' = 'json'
