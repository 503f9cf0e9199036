// LoopbackDynamoDBLocal starts DynamoDB Local (DynamoDBLocal.jar, on the class path) listening on
// one address only, 127.0.0.1 by default (system property rollcall.host). DynamoDB Local itself
// has no option for the address: its Jetty server listens on every interface. This launcher builds
// the server exactly as DynamoDB Local's own main does (ServerRunner.createServerFromCommandLineArgs,
// with the same command-line flags), sets the host of its connectors, and starts it.
//
// Package local compiles it with javac once into .local/dynamodb-launcher/<hash>/ (nothing compiled
// is committed) and runs it with DynamoDB Local's jars on the class path. That needs a JDK; with a
// JRE only, package local runs the plain jar, listening on every interface, and says so.
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class LoopbackDynamoDBLocal {
    public static void main(String[] args) throws Exception {
        String host = System.getProperty("rollcall.host", "127.0.0.1");
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field f = DynamoDBProxyServer.class.getDeclaredField("server");
        f.setAccessible(true);
        Server server = (Server) f.get(proxy);
        Connector[] connectors = server.getConnectors();
        if (connectors.length == 0) {
            throw new IllegalStateException("DynamoDB Local's server has no connector to bind to " + host);
        }
        for (Connector c : connectors) {
            ((ServerConnector) c).setHost(host);
        }
        proxy.start();
        System.out.println("rollcall: DynamoDB Local listens on " + host + " only");
        proxy.join();
    }
}
