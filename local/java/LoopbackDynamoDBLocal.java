import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * DynamoDB Local, listening on one address only (127.0.0.1 unless the system property
 * `tollgate.dynamodb.host` says otherwise). Takes DynamoDBLocal.jar's own arguments.
 *
 * Why: the jar has no host option. Its server is an embedded Jetty made with `new Server(port)`,
 * whose one connector listens on every interface, and it checks no credentials, so anyone who can
 * reach the machine could read and write every table. Jetty reads no system property for the
 * host of a connector made that way, so this launcher builds the server as the jar's own main
 * does, sets the host on its connector and starts it. If the jar's insides ever change, it stops
 * with an error rather than start open to the network.
 */
public final class LoopbackDynamoDBLocal {
  public static void main(String[] args) throws Exception {
    String host = System.getProperty("tollgate.dynamodb.host", "127.0.0.1");
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    Connector[] connectors = server.getConnectors();
    if (connectors.length == 0) throw new IllegalStateException("DynamoDB Local has no connector to bind");
    for (Connector connector : connectors) {
      if (!(connector instanceof ServerConnector)) {
        throw new IllegalStateException("unexpected connector " + connector.getClass().getName());
      }
      ((ServerConnector) connector).setHost(host);
    }
    proxy.start();
    if (!server.isStarted()) {
      // start() reports a port it could not bind on stderr and stops the server: exit non-zero.
      System.exit(1);
    }
    proxy.join();
  }
}
