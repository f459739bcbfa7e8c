/*
 * The bench's JVM client: what a Java EHI sender does by default, compiled by the runner with
 * javac into bench/.work (`--jvm`). HttpsURLConnection with http.keepAlive=false (a new
 * connection per message, as Thredd), one SSLContext with the client certificate (PKCS12) and the
 * server root CA, so JSSE's own session cache decides about resumption. N messages at a paced
 * rate: message i is due at start + i/rate and sent by a pool thread when due; its latency runs
 * from when it was due. Prints one JSON line: latencies (ms, measured messages only), errors and
 * the connections the client opened.
 *
 * Usage: java EhiClient URL P12 P12PASS CA_PEM BODY_FILE CONTENT_TYPE SOAPACTION ANSWER RATE WARMUP N
 */
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

public final class EhiClient {
  /** Counts the connections HttpsURLConnection opens through it. */
  static final class CountingFactory extends SSLSocketFactory {
    final SSLSocketFactory inner;
    final AtomicInteger created = new AtomicInteger();

    CountingFactory(SSLSocketFactory inner) {
      this.inner = inner;
    }

    public String[] getDefaultCipherSuites() {
      return inner.getDefaultCipherSuites();
    }

    public String[] getSupportedCipherSuites() {
      return inner.getSupportedCipherSuites();
    }

    public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws java.io.IOException {
      created.incrementAndGet();
      return inner.createSocket(s, host, port, autoClose);
    }

    public Socket createSocket(String host, int port) throws java.io.IOException {
      created.incrementAndGet();
      return inner.createSocket(host, port);
    }

    public Socket createSocket(String host, int port, InetAddress local, int localPort) throws java.io.IOException {
      created.incrementAndGet();
      return inner.createSocket(host, port, local, localPort);
    }

    public Socket createSocket(InetAddress host, int port) throws java.io.IOException {
      created.incrementAndGet();
      return inner.createSocket(host, port);
    }

    public Socket createSocket(InetAddress host, int port, InetAddress local, int localPort) throws java.io.IOException {
      created.incrementAndGet();
      return inner.createSocket(host, port, local, localPort);
    }
  }

  public static void main(String[] args) throws Exception {
    System.setProperty("http.keepAlive", "false");
    URL url = new URL(args[0]);
    char[] pass = args[2].toCharArray();
    KeyStore keys = KeyStore.getInstance("PKCS12");
    try (InputStream in = new FileInputStream(args[1])) {
      keys.load(in, pass);
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, pass);
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (InputStream in = new FileInputStream(args[3])) {
      trust.setCertificateEntry("server-root", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    CountingFactory factory = new CountingFactory(context.getSocketFactory());

    byte[] body = Files.readAllBytes(Paths.get(args[4]));
    String contentType = args[5];
    String soapAction = args[6];
    String answer = args[7];
    double rate = Double.parseDouble(args[8]);
    int warmup = Integer.parseInt(args[9]);
    int measured = Integer.parseInt(args[10]);
    int total = warmup + measured;

    double[] latencies = new double[measured];
    boolean[] ok = new boolean[measured];
    AtomicInteger errors = new AtomicInteger();
    int[] connectionsAtMeasureStart = new int[1];
    ExecutorService pool = Executors.newFixedThreadPool(32);
    long start = System.nanoTime() + 50_000_000L;
    for (int i = 0; i < total; i++) {
      final int index = i;
      final long due = start + (long) (i * 1e9 / rate);
      long wait = due - System.nanoTime();
      if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
      if (i == warmup) connectionsAtMeasureStart[0] = factory.created.get();
      pool.execute(() -> {
        boolean good = false;
        try {
          HttpsURLConnection conn = (HttpsURLConnection) url.openConnection();
          conn.setSSLSocketFactory(factory);
          conn.setConnectTimeout(5000);
          conn.setReadTimeout(5000);
          conn.setDoOutput(true);
          conn.setRequestMethod("POST");
          conn.setRequestProperty("Content-Type", contentType);
          conn.setRequestProperty("SOAPAction", soapAction);
          conn.setRequestProperty("x-bench-answer", answer);
          conn.setFixedLengthStreamingMode(body.length);
          try (OutputStream out = conn.getOutputStream()) {
            out.write(body);
          }
          int status = conn.getResponseCode();
          try (InputStream in = status < 400 ? conn.getInputStream() : conn.getErrorStream()) {
            if (in != null) in.transferTo(new ByteArrayOutputStream());
          }
          conn.disconnect();
          good = status >= 200 && status < 300;
        } catch (Exception e) {
          good = false;
        }
        if (index >= warmup) {
          latencies[index - warmup] = (System.nanoTime() - due) / 1e6;
          ok[index - warmup] = good;
          if (!good) errors.incrementAndGet();
        }
      });
    }
    pool.shutdown();
    pool.awaitTermination(60, TimeUnit.SECONDS);
    StringBuilder json = new StringBuilder("{\"latenciesMs\":[");
    boolean first = true;
    for (int i = 0; i < measured; i++) {
      if (!ok[i]) continue;
      if (!first) json.append(',');
      first = false;
      json.append(String.format(java.util.Locale.ROOT, "%.3f", latencies[i]));
    }
    json.append("],\"errors\":").append(errors.get());
    json.append(",\"connections\":").append(factory.created.get() - connectionsAtMeasureStart[0]);
    json.append(",\"java\":\"").append(System.getProperty("java.version")).append("\"}");
    System.out.println(json);
  }
}
