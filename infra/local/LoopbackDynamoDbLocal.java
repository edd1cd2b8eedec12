import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * Starts DynamoDB Local listening on 127.0.0.1 only. The jar's command line has no host option (its Jetty server
 * listens on every interface), so this launcher builds the server from the same arguments the jar takes, sets the
 * host of its connectors to the loopback address, and starts it. Run as a source file (`java -cp DynamoDBLocal.jar
 * LoopbackDynamoDbLocal.java -inMemory -port 8000 …`); infra/local/dynamodb-local.ts falls back to the plain jar when
 * this cannot run (a Java runtime without a compiler, or a DynamoDB Local whose internals differ).
 */
public final class LoopbackDynamoDbLocal {
  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server jetty = (Server) field.get(proxy);
    Connector[] connectors = jetty.getConnectors();
    if (connectors.length == 0) throw new IllegalStateException("DynamoDB Local has no connector to bind");
    for (Connector connector : connectors) {
      ((ServerConnector) connector).setHost("127.0.0.1");
    }
    System.out.println("LoopbackDynamoDbLocal: listening on 127.0.0.1 only");
    proxy.start();
  }
}
