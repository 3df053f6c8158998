'connector' = 'filesystem',
'path' = '${aggregates.path}',
'format' = 'json'
