'connector' = 'kinesis',
'stream' = '${anomalies.stream.name}',
${aws.connector-options},
'sink.http-client.protocol.version' = '${sink.http-client.protocol.version}',
'sink.partitioner' = 'random',
'format' = 'json'
