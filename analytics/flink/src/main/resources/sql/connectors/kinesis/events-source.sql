-- events-enriched through the Flink Kinesis connector 4.3 (`kinesis` source factory, polling consumer).
-- aws.connector-options: every aws.* job property as it is (aws.region, and locally aws.endpoint,
-- aws.trust.all.certificates, aws.credentials.provider + aws.credentials.basic.*).
'connector' = 'kinesis',
'stream' = '${events.stream.name}',
${aws.connector-options},
'scan.stream.initpos' = '${source.init.position}',
'scan.stream.recordpublisher' = '${source.reader.type}',
'format' = 'json',
'json.ignore-parse-errors' = 'true'
