package dev.clickstream.analytics.flink;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Entry point on Managed Flink (no arguments: runtime properties from the service) and locally
 * ({@code java -jar job.jar --properties app.json}, or FLINK_APPLICATION_PROPERTIES): the same SQL, the same code.
 */
public final class ClickstreamAnalyticsJob {
    static final String PROPERTIES_FLAG = "--properties";
    static final String PROPERTIES_ENV = "FLINK_APPLICATION_PROPERTIES";

    private ClickstreamAnalyticsJob() {}

    public static void main(String[] args) throws Exception {
        String localFile = localPropertiesFile(args);
        JobProperties properties = JobProperties.load(localFile);
        boolean local = localFile != null;

        Configuration configuration = new Configuration();
        if (local) configureLocalCheckpoints(configuration, properties);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(configuration);
        int parallelism = (int) properties.getLong("parallelism");
        if (parallelism > 0) env.setParallelism(parallelism);
        long checkpointInterval = properties.getLong("checkpoint.interval.ms");
        if (checkpointInterval > 0) env.enableCheckpointing(checkpointInterval);

        StreamTableEnvironment tableEnv = StreamTableEnvironment.create(env, EnvironmentSettings.inStreamingMode());
        TableResult result = AnalyticsPipeline.build(tableEnv, properties).execute();
        System.out.println("[flink-job] submitted " + properties.get("pipeline.name") + " as job "
            + result.getJobClient().map(client -> client.getJobID().toString()).orElse("?"));
        // Locally the JVM is the cluster: keep it alive while the job runs. Managed Flink owns the job's lifetime.
        if (local) result.await();
    }

    static String localPropertiesFile(String[] args) {
        for (int i = 0; i < args.length - 1; i++) {
            if (PROPERTIES_FLAG.equals(args[i])) return args[i + 1];
        }
        String fromEnv = System.getenv(PROPERTIES_ENV);
        return fromEnv == null || fromEnv.isEmpty() ? null : fromEnv;
    }

    /**
     * Local runs keep checkpoints under local.checkpoint.dir and resume from the newest complete one, so a
     * restart neither loses window state nor re-reads the stream from the start. (Managed Flink restores
     * from its own snapshots.)
     */
    static void configureLocalCheckpoints(Configuration configuration, JobProperties properties) throws IOException {
        String dir = properties.get("local.checkpoint.dir");
        if (dir == null || dir.isEmpty()) return;
        Path root = Paths.get(dir).toAbsolutePath();
        Files.createDirectories(root);
        configuration.setString("execution.checkpointing.dir", root.toUri().toString());
        configuration.setString("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
        Optional<Path> latest = latestCompleteCheckpoint(root);
        if (latest.isPresent()) {
            System.out.println("[flink-job] resuming from " + latest.get());
            configuration.setString("execution.savepoint.path", latest.get().toUri().toString());
            // A changed query plan leaves old operator state unclaimed: start those operators fresh.
            configuration.setString("execution.savepoint.ignore-unclaimed-state", "true");
            pruneOtherJobs(root, latest.get().getParent());
        }
    }

    /** Newest {@code <job id>/chk-N} that has its {@code _metadata} (a checkpoint cut off by a kill has none). */
    static Optional<Path> latestCompleteCheckpoint(Path root) throws IOException {
        try (Stream<Path> jobs = Files.list(root)) {
            List<Path> checkpoints = jobs.filter(Files::isDirectory).flatMap(job -> {
                try (Stream<Path> chk = Files.list(job)) {
                    return chk.filter(p -> p.getFileName().toString().startsWith("chk-"))
                        .filter(p -> Files.exists(p.resolve("_metadata")))
                        .collect(Collectors.toList()).stream();
                } catch (IOException e) {
                    return Stream.empty();
                }
            }).collect(Collectors.toList());
            return checkpoints.stream().max(Comparator.comparingLong(ClickstreamAnalyticsJob::modifiedAt));
        }
    }

    private static long modifiedAt(Path path) {
        try {
            return Files.getLastModifiedTime(path.resolve("_metadata")).toMillis();
        } catch (IOException e) {
            return 0L;
        }
    }

    private static void pruneOtherJobs(Path root, Path keep) throws IOException {
        try (Stream<Path> jobs = Files.list(root)) {
            for (Path job : jobs.filter(Files::isDirectory).filter(job -> !job.equals(keep)).collect(Collectors.toList())) {
                try (Stream<Path> walk = Files.walk(job)) {
                    walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }
    }
}
