package dev.clickstream.sdktest;

import com.segment.analytics.kotlin.core.Analytics;
import com.segment.analytics.kotlin.core.BaseEvent;
import com.segment.analytics.kotlin.core.Configuration;
import com.segment.analytics.kotlin.core.IdentifyEvent;
import com.segment.analytics.kotlin.core.RequestFactory;
import com.segment.analytics.kotlin.core.ScreenEvent;
import com.segment.analytics.kotlin.core.Settings;
import com.segment.analytics.kotlin.core.Telemetry;
import com.segment.analytics.kotlin.core.TrackEvent;
import com.segment.analytics.kotlin.core.compat.Builders;
import com.segment.analytics.kotlin.core.compat.ConfigurationBuilder;
import com.segment.analytics.kotlin.core.compat.JavaAnalytics;
import com.segment.analytics.kotlin.core.platform.Plugin;
import com.segment.analytics.kotlin.core.utilities.InMemoryStorageProvider;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.zip.GZIPInputStream;
import kotlin.Unit;
import kotlinx.serialization.json.Json;
import kotlinx.serialization.json.JsonArray;
import kotlinx.serialization.json.JsonElement;
import kotlinx.serialization.json.JsonElementKt;
import kotlinx.serialization.json.JsonNull;
import kotlinx.serialization.json.JsonObject;

/**
 * Segment's Kotlin SDK (core, on the plain JVM) sending to an ingest of the Segment HTTP API.
 *
 * <p>Usage: {@code java -jar segment-kotlin-sdk-test-all.jar <ingest base URL> <write key> <run id>} (or the
 * environment variables INGEST_URL, WRITE_KEY, RUN_ID; SEND_TIMEOUT_MS bounds the whole run, 30 s by
 * default). Sends a screen, a track, an identify and a track as the identified user, each tagged with the
 * run id (property or trait {@code run}), flushes, waits for the upload to be answered and prints one JSON
 * line on stdout: the events as the SDK built them (recorded by an After plugin) and each upload as it went
 * on the wire (request headers the SDK set, the body, the response). The SDK's own log goes to stderr.
 * Exit status 0 only when every event was uploaded in a request answered with a 2xx status.
 *
 * <p>What the test changes in the SDK, and why:
 * <ul>
 *   <li>apiHost is {@code <host:port>/v1} of the ingest; the SDK always opens {@code https://<apiHost>/b},
 *       so the request factory opens the same URL with {@code http://} (everything else about the request
 *       is the SDK's own: its {@code upload()} sets the headers on the connection it is given).</li>
 *   <li>Settings: cdnHost is the ingest's {@code /v1} too, so the SDK fetches its settings from the ingest
 *       (which names itself as the Segment.io apiHost), over http like the upload. There are no default
 *       settings: without that answer the SDK would fall back to api.segment.io.</li>
 *   <li>Telemetry (metrics POSTed to api.segment.io/v1/m) is off; storage is in memory, so no state from an
 *       earlier run (a stored anonymousId, userId or unsent batch) leaks into this one.</li>
 * </ul>
 */
public final class SendEvents {
  private SendEvents() {}

  /** Shared state between the SDK's threads and main; every change wakes the waiters. */
  private static final Object LOCK = new Object();
  private static final List<JsonObject> EVENTS = new ArrayList<>();
  private static final List<Upload> UPLOADS = new ArrayList<>();
  private static final List<String> ERRORS = new ArrayList<>();
  private static int settingsRequests = 0;
  private static String settingsUrl = null;

  public static void main(String[] args) {
    int exitCode;
    try {
      exitCode = run(args);
    } catch (Throwable error) {
      error.printStackTrace();
      exitCode = 1;
    }
    System.out.flush();
    // The SDK's dispatchers are non-daemon thread pools: the run is over when this says so.
    System.exit(exitCode);
  }

  private static int run(String[] args) throws Exception {
    String ingestUrl = arg(args, 0, "INGEST_URL");
    String writeKey = arg(args, 1, "WRITE_KEY");
    String runId = arg(args, 2, "RUN_ID");
    long timeoutMs = Long.parseLong(env("SEND_TIMEOUT_MS", "30000"));
    long deadline = System.currentTimeMillis() + timeoutMs;

    URI ingest = URI.create(ingestUrl);
    if (!"http".equals(ingest.getScheme()) || ingest.getHost() == null) {
      throw new IllegalArgumentException("the ingest URL must be http://host[:port], got " + ingestUrl);
    }
    String apiHost = ingest.getAuthority() + "/v1";

    Telemetry.INSTANCE.setEnable(false);
    Analytics.Companion.setLogger(log -> System.err.println("[segment " + log.getKind() + "] " + log.getMessage()));

    // cdnHost = the ingest's /v1: the SDK fetches its settings from there (ingest answers them, naming
    // itself as Segment.io's apiHost); there are no default settings, so without that answer it would send
    // to api.segment.io, which cannot be reached here.
    Configuration configuration = new ConfigurationBuilder(writeKey)
        .setApplication("segment-kotlin-sdk-test")
        .setApiHost(apiHost)
        .setCdnHost(apiHost)
        .setRequestFactory(new LocalRequestFactory())
        .build();
    configuration.setStorageProvider(new InMemoryStorageProvider());
    configuration.setErrorHandler(error -> {
      synchronized (LOCK) {
        ERRORS.add(String.valueOf(error));
        LOCK.notifyAll();
      }
      return Unit.INSTANCE;
    });

    JavaAnalytics analytics = new JavaAnalytics(configuration);
    analytics.add(new RecordingPlugin());

    String userId = "user-" + runId;
    // One call at a time, each awaited until it has gone through the SDK's timeline: the batch keeps the
    // call order, and the last track is sure to carry the userId the identify set.
    send(deadline, () -> analytics.screen("Home", Builders.buildJsonObject(p -> p
        .put("run", runId)
        .put("section", "start")
        .put("tab", 2))));
    send(deadline, () -> analytics.track("Order Completed", Builders.buildJsonObject(p -> p
        .put("run", runId)
        .put("orderId", "order-" + runId)
        .put("revenue", 42.5)
        .put("quantity", 3)
        .put("coupon", (String) null)
        .putJsonObject("shipping", s -> s
            .put("method", "express")
            .putJsonObject("address", a -> a.put("city", "Lyon").put("zip", "69001")))
        .putJsonArray("products", list -> list
            .addJsonObject(item -> item.put("sku", "sku-1").put("price", 30).put("gift", true))
            .addJsonObject(item -> item.put("sku", "sku-2").put("price", 12.5).put("gift", false))))));
    send(deadline, () -> analytics.identify(userId, Builders.buildJsonObject(t -> t
        .put("run", runId)
        .put("email", "wile@acme.test")
        .put("plan", "pro")
        .put("logins", 7))));
    send(deadline, () -> analytics.track("Settings Opened", Builders.buildJsonObject(p -> p
        .put("run", runId)
        .put("from", "menu"))));

    analytics.flush();
    List<String> sentIds = new ArrayList<>();
    synchronized (LOCK) {
      for (JsonObject event : EVENTS) sentIds.add(stringField(event, "messageId"));
    }
    boolean answered = await(deadline, () -> uploadedIds(true).containsAll(sentIds) || !ERRORS.isEmpty() || uploads().stream().anyMatch(u -> u.status != null && u.status >= 300));

    int exitCode = 0;
    List<String> problems = new ArrayList<>();
    synchronized (LOCK) {
      if (!answered) problems.add("not every event was uploaded and answered within " + timeoutMs + " ms");
      for (Upload upload : UPLOADS) {
        if (upload.status == null) problems.add("an upload was not answered");
        else if (upload.status >= 300) problems.add("an upload was answered " + upload.status);
      }
      if (!ERRORS.isEmpty()) problems.add("the SDK reported errors");
      if (!problems.isEmpty()) exitCode = 1;

      Map<String, JsonElement> report = new LinkedHashMap<>();
      report.put("ok", JsonElementKt.JsonPrimitive(problems.isEmpty()));
      report.put("sdkVersion", string(Analytics.Companion.version()));
      report.put("apiHost", string(apiHost));
      report.put("anonymousId", string(analytics.anonymousId()));
      report.put("userId", string(userId));
      report.put("events", new JsonArray(new ArrayList<>(EVENTS)));
      List<JsonElement> uploads = new ArrayList<>();
      for (Upload upload : UPLOADS) uploads.add(upload.toJson());
      report.put("uploads", new JsonArray(uploads));
      report.put("settingsRequests", JsonElementKt.JsonPrimitive(settingsRequests));
      report.put("settingsUrl", string(settingsUrl));
      report.put("errors", strings(ERRORS));
      report.put("problems", strings(problems));
      System.out.println(new JsonObject(report));
    }
    return exitCode;
  }

  /** Makes one SDK call and waits until the event it makes has passed the SDK's timeline. */
  private static void send(long deadline, Runnable call) throws InterruptedException {
    int before;
    synchronized (LOCK) {
      before = EVENTS.size();
    }
    call.run();
    if (!await(deadline, () -> EVENTS.size() > before)) {
      throw new IllegalStateException("the SDK did not process event #" + (before + 1) + " in time; errors: " + ERRORS);
    }
  }

  private static boolean await(long deadline, BooleanSupplier condition) throws InterruptedException {
    synchronized (LOCK) {
      for (;;) {
        if (condition.getAsBoolean()) return true;
        long left = deadline - System.currentTimeMillis();
        if (left <= 0) return false;
        LOCK.wait(left);
      }
    }
  }

  private static List<Upload> uploads() {
    synchronized (LOCK) {
      return new ArrayList<>(UPLOADS);
    }
  }

  /** The messageIds in the bodies of the uploads (only the answered ones with {@code answered}). */
  private static List<String> uploadedIds(boolean answered) {
    List<String> ids = new ArrayList<>();
    for (Upload upload : uploads()) {
      if (answered && upload.status == null) continue;
      JsonElement body = upload.parsedBody();
      if (!(body instanceof JsonObject) || !(((JsonObject) body).get("batch") instanceof JsonArray)) continue;
      for (JsonElement event : (JsonArray) ((JsonObject) body).get("batch")) {
        if (event instanceof JsonObject) ids.add(stringField((JsonObject) event, "messageId"));
      }
    }
    return ids;
  }

  /** Records each event after the SDK's timeline filled it in (messageId, timestamp, ids, context). */
  static final class RecordingPlugin implements Plugin {
    private Analytics analytics;

    @Override public Type getType() { return Type.After; }
    @Override public Analytics getAnalytics() { return analytics; }
    @Override public void setAnalytics(Analytics analytics) { this.analytics = analytics; }
    @Override public void setup(Analytics analytics) { this.analytics = analytics; }
    @Override public void update(Settings settings, UpdateType type) {}

    @Override
    public BaseEvent execute(BaseEvent event) {
      Map<String, JsonElement> fields = new LinkedHashMap<>();
      fields.put("type", string(event.getType().name().toLowerCase(java.util.Locale.ROOT)));
      fields.put("messageId", string(event.getMessageId()));
      fields.put("timestamp", string(event.getTimestamp()));
      fields.put("anonymousId", string(event.getAnonymousId()));
      if (!event.getUserId().isBlank()) fields.put("userId", string(event.getUserId()));
      if (event instanceof TrackEvent) {
        fields.put("event", string(((TrackEvent) event).getEvent()));
        fields.put("properties", ((TrackEvent) event).getProperties());
      } else if (event instanceof ScreenEvent) {
        fields.put("name", string(((ScreenEvent) event).getName()));
        fields.put("properties", ((ScreenEvent) event).getProperties());
      } else if (event instanceof IdentifyEvent) {
        fields.put("traits", ((IdentifyEvent) event).getTraits());
      }
      fields.put("context", event.getContext());
      synchronized (LOCK) {
        EVENTS.add(new JsonObject(fields));
        LOCK.notifyAll();
      }
      return event;
    }
  }

  /**
   * The SDK's request factory with one change: the connections it opens use http (the SDK builds
   * {@code https://} URLs). Uploads are wrapped so that what goes over them is recorded; the settings
   * request (GET <cdnHost>/projects/<key>/settings) is counted and its URL kept.
   */
  static final class LocalRequestFactory extends RequestFactory {
    @Override
    public HttpURLConnection openConnection(String url) {
      String plain = url.startsWith("https://") ? "http://" + url.substring("https://".length()) : url;
      HttpURLConnection connection = super.openConnection(plain);
      if (plain.endsWith("/settings")) {
        synchronized (LOCK) {
          settingsRequests++;
          settingsUrl = plain;
        }
        return connection;
      }
      Upload upload = new Upload(connection.getURL().toString());
      synchronized (LOCK) {
        UPLOADS.add(upload);
        LOCK.notifyAll();
      }
      return new RecordingConnection(connection, upload);
    }
  }

  /** One request the SDK made through the request factory, as it went on the wire. */
  static final class Upload {
    final String url;
    String method;
    final Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    final ByteArrayOutputStream body = new ByteArrayOutputStream();
    Integer status;
    String response;

    Upload(String url) {
      this.url = url;
    }

    /** The body as JSON, gunzipped when the SDK declared it gzip; null when it is not JSON (yet). */
    JsonElement parsedBody() {
      synchronized (LOCK) {
        try {
          byte[] bytes = body.toByteArray();
          if (headers.getOrDefault("Content-Encoding", "").contains("gzip")) {
            try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(bytes))) {
              bytes = in.readAllBytes();
            }
          }
          return Json.Default.parseToJsonElement(new String(bytes, StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException e) {
          return null;
        }
      }
    }

    JsonObject toJson() {
      Map<String, JsonElement> fields = new LinkedHashMap<>();
      fields.put("url", string(url));
      fields.put("method", string(method));
      Map<String, JsonElement> headerFields = new LinkedHashMap<>();
      headers.forEach((name, value) -> headerFields.put(name, string(value)));
      fields.put("headers", new JsonObject(headerFields));
      fields.put("bodyBytes", JsonElementKt.JsonPrimitive(body.size()));
      JsonElement parsed = parsedBody();
      fields.put("body", parsed == null ? JsonNull.INSTANCE : parsed);
      fields.put("status", status == null ? JsonNull.INSTANCE : JsonElementKt.JsonPrimitive(status));
      fields.put("response", string(response));
      return new JsonObject(fields);
    }
  }

  /**
   * An HttpURLConnection that passes everything to the real one, and records the request headers the
   * SDK set (when it starts writing the body), the body bytes and the response.
   */
  static final class RecordingConnection extends HttpURLConnection {
    private final HttpURLConnection real;
    private final Upload upload;
    private OutputStream recordingOut;
    private byte[] responseBody;
    private boolean headersRecorded;

    RecordingConnection(HttpURLConnection real, Upload upload) {
      super(real.getURL());
      this.real = real;
      this.upload = upload;
    }

    /** The headers as the SDK set them; readable only until the connection is made. */
    private void recordHeaders() {
      synchronized (LOCK) {
        if (headersRecorded) return;
        headersRecorded = true;
        real.getRequestProperties().forEach((name, values) -> {
          if (name != null) upload.headers.put(name, String.join(", ", values));
        });
      }
    }

    /** The method as sent (HttpURLConnection turns GET into POST once a body is asked for). */
    private void recordMethod() {
      synchronized (LOCK) {
        upload.method = real.getRequestMethod();
      }
    }

    @Override public void setRequestProperty(String key, String value) { real.setRequestProperty(key, value); }
    @Override public void addRequestProperty(String key, String value) { real.addRequestProperty(key, value); }
    @Override public String getRequestProperty(String key) { return real.getRequestProperty(key); }
    @Override public Map<String, List<String>> getRequestProperties() { return real.getRequestProperties(); }
    @Override public void setRequestMethod(String method) throws java.net.ProtocolException { real.setRequestMethod(method); }
    @Override public String getRequestMethod() { return real.getRequestMethod(); }
    @Override public void setDoOutput(boolean doOutput) { real.setDoOutput(doOutput); }
    @Override public boolean getDoOutput() { return real.getDoOutput(); }
    @Override public void setDoInput(boolean doInput) { real.setDoInput(doInput); }
    @Override public boolean getDoInput() { return real.getDoInput(); }
    @Override public void setUseCaches(boolean useCaches) { real.setUseCaches(useCaches); }
    @Override public void setChunkedStreamingMode(int chunkLength) { real.setChunkedStreamingMode(chunkLength); }
    @Override public void setFixedLengthStreamingMode(int length) { real.setFixedLengthStreamingMode(length); }
    @Override public void setFixedLengthStreamingMode(long length) { real.setFixedLengthStreamingMode(length); }
    @Override public void setConnectTimeout(int timeout) { real.setConnectTimeout(timeout); }
    @Override public int getConnectTimeout() { return real.getConnectTimeout(); }
    @Override public void setReadTimeout(int timeout) { real.setReadTimeout(timeout); }
    @Override public int getReadTimeout() { return real.getReadTimeout(); }
    @Override public void setInstanceFollowRedirects(boolean follow) { real.setInstanceFollowRedirects(follow); }
    @Override public boolean getInstanceFollowRedirects() { return real.getInstanceFollowRedirects(); }
    @Override public boolean usingProxy() { return real.usingProxy(); }

    @Override
    public void connect() throws IOException {
      recordHeaders();
      real.connect();
      recordMethod();
    }

    @Override
    public void disconnect() {
      real.disconnect();
    }

    @Override
    public OutputStream getOutputStream() throws IOException {
      recordHeaders();
      if (recordingOut == null) {
        OutputStream realOut = real.getOutputStream();
        recordMethod();
        recordingOut = new FilterOutputStream(realOut) {
          @Override
          public void write(int b) throws IOException {
            out.write(b);
            synchronized (LOCK) {
              upload.body.write(b);
            }
          }

          @Override
          public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            synchronized (LOCK) {
              upload.body.write(b, off, len);
            }
          }
        };
      }
      return recordingOut;
    }

    @Override
    public int getResponseCode() throws IOException {
      recordHeaders();
      int code = real.getResponseCode();
      recordMethod();
      if (responseBody == null) {
        InputStream in = code < 400 ? real.getInputStream() : real.getErrorStream();
        try (InputStream stream = in) {
          responseBody = stream == null ? new byte[0] : stream.readAllBytes();
        }
        synchronized (LOCK) {
          upload.status = code;
          upload.response = new String(responseBody, StandardCharsets.UTF_8);
          LOCK.notifyAll();
        }
      }
      return code;
    }

    @Override public String getResponseMessage() throws IOException { return real.getResponseMessage(); }

    @Override
    public InputStream getInputStream() throws IOException {
      int code = getResponseCode();
      if (code >= 400) throw new IOException("HTTP " + code);
      return new ByteArrayInputStream(responseBody);
    }

    @Override
    public InputStream getErrorStream() {
      try {
        return getResponseCode() >= 400 ? new ByteArrayInputStream(responseBody) : null;
      } catch (IOException e) {
        return null;
      }
    }

    @Override public String getHeaderField(String name) { return real.getHeaderField(name); }
    @Override public String getHeaderField(int n) { return real.getHeaderField(n); }
    @Override public String getHeaderFieldKey(int n) { return real.getHeaderFieldKey(n); }
    @Override public Map<String, List<String>> getHeaderFields() { return real.getHeaderFields(); }
  }

  private static JsonElement string(String value) {
    return value == null ? JsonNull.INSTANCE : JsonElementKt.JsonPrimitive(value);
  }

  private static JsonObject object(Map<String, JsonElement> fields) {
    return new JsonObject(new LinkedHashMap<>(fields));
  }

  private static JsonArray strings(List<String> values) {
    List<JsonElement> elements = new ArrayList<>();
    for (String value : values) elements.add(string(value));
    return new JsonArray(elements);
  }

  private static String stringField(JsonObject object, String key) {
    JsonElement value = object.get(key);
    return value == null || value instanceof JsonNull ? null : JsonElementKt.getJsonPrimitive(value).getContent();
  }

  private static String arg(String[] args, int index, String envName) {
    String value = args.length > index ? args[index] : System.getenv(envName);
    if (value == null || value.isBlank()) {
      System.err.println("usage: java -jar segment-kotlin-sdk-test-all.jar <ingest base URL> <write key> <run id>  (or INGEST_URL, WRITE_KEY, RUN_ID)");
      System.exit(2);
    }
    return value;
  }

  private static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isBlank() ? fallback : value;
  }
}
