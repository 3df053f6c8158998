'connector' = 'filesystem',
'path' = '${anomalies.path}',
'format' = 'json'
