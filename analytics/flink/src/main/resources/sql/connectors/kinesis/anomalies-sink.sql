'connector' = 'kinesis',
'stream' = '${anomalies.stream.name}',
${aws.connector-options},
'sink.http-client.protocol.version' = '${sink.http-client.protocol.version}',
'sink.partitioner' = 'random',
'sink.flush-buffer.timeout' = '${sink.flush-buffer.timeout.ms}',
'format' = 'json'
